using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;

namespace OrtZo.Tests.Onnx;

public class ConstantPatternsTests
{
    private static float[] Square(int n, Func<int, int, float> value)
    {
        var m = new float[n * n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++) m[r * n + c] = value(r, c);
        return m;
    }

    [Test]
    public void CausalMasks_AreRecognised_InTheirUsualForms()
    {
        Assert.That(ConstantPatterns.LooksLikeCausalMask([1, 1, 6, 6], Square(6, (r, c) => c <= r ? 1f : 0f)), "HF GPT-2 tril of ones");
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], Square(6, (r, c) => c > r ? -1e9f : 0f)), "additive −1e9");
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], Square(6, (r, c) => c > r ? float.NegativeInfinity : 0f)), "additive −inf");
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], Square(6, (r, c) => c > r ? float.MinValue : 0f)), "torch.finfo.min");
    }

    [Test]
    public void Weights_AreNotMasks()
    {
        var random = new Random(1);
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], Square(6, (_, _) => (float)random.NextDouble())), Is.False);
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], Square(6, (r, c) => r == c ? 1f : 0f)), Is.False, "identity");
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], new float[36]), Is.False, "zeros");
        Assert.That(ConstantPatterns.LooksLikeCausalMask([2, 6, 6], new float[72]), Is.False, "a batch of matrices");
        Assert.That(ConstantPatterns.LooksLikeCausalMask([6, 6], Square(6, (r, c) => c > r ? -5f : 0f)), Is.False, "−5 is a value, not a mask");
    }

    [Test]
    public void RotaryTables_AreRecognised_InterleavedAndDuplicated()
    {
        var (cos, sin) = Llama2cConverter.RotaryTables(64, 16, 10000);
        Assert.That(ConstantPatterns.LooksLikeRotaryTable([64, 8], cos));
        Assert.That(ConstantPatterns.LooksLikeRotaryTable([1, 1, 64, 8], sin));
        // Hugging Face caches cat(freqs, freqs) along the last axis.
        var doubled = new float[64 * 16];
        for (int p = 0; p < 64; p++)
            for (int i = 0; i < 16; i++) doubled[p * 16 + i] = cos[p * 8 + i % 8];
        Assert.That(ConstantPatterns.LooksLikeRotaryTable([64, 16], doubled));
    }

    [Test]
    public void Embeddings_AreNotRotaryTables()
    {
        var random = new Random(2);
        var table = Enumerable.Range(0, 64 * 8).Select(_ => (float)(random.NextDouble() * 0.04 - 0.02)).ToArray();
        Assert.That(ConstantPatterns.LooksLikeRotaryTable([64, 8], table), Is.False);
        Array.Clear(table, 0, 8); // padding_idx = 0 leaves row 0 all zeros, like sin's row 0
        Assert.That(ConstantPatterns.LooksLikeRotaryTable([64, 8], table), Is.False);
    }

    [Test]
    public void InverseFrequencies_AreRecognised_ButUnitScalesAreNot()
    {
        var inverse = Enumerable.Range(0, 8).Select(i => (float)Math.Pow(10000, -2.0 * i / 16)).ToArray();
        Assert.That(ConstantPatterns.LooksLikeInverseFrequencies([8], inverse));
        Assert.That(ConstantPatterns.LooksLikeInverseFrequencies([8], Enumerable.Repeat(1f, 8).ToArray()), Is.False, "a fresh norm scale");
        Assert.That(ConstantPatterns.LooksLikeInverseFrequencies([3], [1f, 0.5f, 0.3f]), Is.False);
        Assert.That(ConstantPatterns.LooksLikeInverseFrequencies([1, 8, 1], inverse), "torch's inv_freq[None, :, None] after export");
        Assert.That(ConstantPatterns.LooksLikeInverseFrequencies([2, 4], inverse), Is.False, "a matrix is not a frequency vector");
    }
}
