using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>LoRA's rewrite on the shipped Llama (Gemm over [out, in] weights) and GPT-2-style graphs (MatMul over [in, out]).</summary>
public class LoraTests
{
    private TempFolder _cache = null!;

    [OneTimeSetUp]
    public void CreateCache() => _cache = new TempFolder("peft-cache");

    [OneTimeTearDown]
    public void DeleteCache() => _cache.Dispose();

    private PeftOptions Lora(FrozenBase frozen = FrozenBase.Initializers) =>
        new() { Scheme = PeftScheme.Lora, CacheFolder = _cache.Path, FrozenBase = frozen };

    [TestCase(FrozenBase.Initializers)]
    [TestCase(FrozenBase.Inputs)]
    public void WithBAtZeroTheScoresEqualTheBaseModel(FrozenBase frozen)
    {
        var rows = PeftFixtures.RandomRows(4, 24, 512, seed: 5);
        using var full = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        using var lora = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(frozen));
        var expected = PeftFixtures.Scores(full, rows);
        var actual = PeftFixtures.Scores(lora, rows);
        TestContext.Out.WriteLine($"{frozen}: max |Δ sum_logprob| = {PeftFixtures.MaxAbsDiff(expected, actual):E2}; trainable {lora.ParameterCount} of {lora.BaseParameterCount}");
        Assert.That(PeftFixtures.MaxAbsDiff(expected, actual), Is.LessThanOrEqualTo(1e-6));
        Assert.That(lora.ParameterCount, Is.EqualTo(5 * (8 * 64 + 64 * 8 + 8 * 64 + 32 * 8)), "A and B of q_proj [64,64] and v_proj [32,64] in 5 layers");
    }
}
