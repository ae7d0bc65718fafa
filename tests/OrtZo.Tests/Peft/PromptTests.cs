using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Peft;
using OrtZo.Onnx.Peft;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>
/// Prompt tuning's rewrite: virtual tokens initialised from vocabulary rows are the embeddings of those tokens,
/// so the prompt model scoring a text must equal the base model scoring [those tokens; text] (positions shift by n
/// in both). Checked on the shipped Llama (positions derived in the graph) and a GPT-2-style graph fed position_ids.
/// </summary>
public class PromptTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("peft-prompt");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private PeftOptions Prompt(int tokens) => new() { Scheme = PeftScheme.Prompt, PromptTokens = tokens, CacheFolder = Path.Combine(_temp.Path, "cache") };

    [TestCase("stories260k", TestName = "Virtual tokens from vocabulary rows equal feeding those tokens: stories260k")]
    [TestCase("gpt2", TestName = "Virtual tokens from vocabulary rows equal feeding those tokens: GPT-2 style with position_ids")]
    [TestCase("torch", TestName = "Virtual tokens from vocabulary rows equal feeding those tokens: torch export")]
    public void VirtualTokensFromVocabularyRowsEqualFeedingThoseTokens(string which)
    {
        string folder = which switch
        {
            "gpt2" => PeftFixtures.TinyGpt(_temp.Path, new TinyGptConfig { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 5, PositionIdsInput = true }),
            "torch" => PeftFixtures.TorchTinyGpt(_temp.Path),
            _ => TestPaths.Stories260k,
        };
        int vocab = which switch { "gpt2" => 96, "torch" => 64, _ => 512 }, n = 6;
        var options = Prompt(n);
        using var full = ZoModel.Open(folder, threads: 2);
        using var prompt = ZoModel.Open(folder, threads: 2, peft: options);
        Assert.That(prompt.MaxLength, Is.EqualTo(full.MaxLength - n), "positions shift by n, so n fewer remain for text");
        long[] virtualIds = AdapterInit.TokenIds(options.InitSeed, "prompt.token_ids", n, vocab);
        var text = PeftFixtures.RandomRows(3, 12, vocab, seed: 8);
        var joined = text.Select(r => virtualIds.Concat(r).ToArray()).ToArray();
        // The base model scores the text's tokens after its first (position n + 1 on), as the prompt model does.
        var expected = PeftFixtures.Scores(full, joined, scoredFrom: n + 1);
        var actual = PeftFixtures.Scores(prompt, text);
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"{which}, n = {n}: sums {string.Join(", ", actual.Select(v => v.ToString("F3")))}; max |Δ| {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
        Assert.That(PeftFixtures.MaxAbsDiff(PeftFixtures.Scores(full, text), actual), Is.GreaterThan(1e-2), "the virtual tokens must change the scores");
    }

    [Test]
    public void RandomInitDrawsFromTheRequestedNormal()
    {
        using var prompt = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Prompt(10) with { RandomInit = true, RandomInitStd = 0.25 });
        var values = prompt.ReadWeights().ReadFloat32(0);
        Assert.That(values, Has.Length.EqualTo(10 * 64));
        double std = Math.Sqrt(values.Select(v => (double)v * v).Average());
        Assert.That(std, Is.EqualTo(0.25).Within(0.03));
    }
}
