using NUnit.Framework;
using OrtZo.Generation;

namespace OrtZo.Tests.Generation;

public class GenerationTests
{
    [Test]
    public void GreedyContinuationOfThePretrainedModelIsEnglishStoryText()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        using var generator = new TextGenerator(model);
        var prompt = model.Tokenizer.Encode("Once upon a time");
        var ids = generator.Continue(prompt, new SamplingOptions(MaxNewTokens: 16));
        string text = model.Tokenizer.Decode(prompt.Concat(ids).ToArray());
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.StartWith("Once upon a time, there was a little girl named Lily."));
    }

    [Test]
    public void SamplingIsReproducibleFromItsSeedAndGenerationSeesTheSlab()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        using var generator = new TextGenerator(model);
        var prompt = model.Tokenizer.Encode("Tom had a red ball.");
        var options = new SamplingOptions(MaxNewTokens: 20, Temperature: 0.9, TopP: 0.9, Seed: 7);
        var a = generator.Continue(prompt, options);
        Assert.That(generator.Continue(prompt, options), Is.EqualTo(a));
        Assert.That(generator.Continue(prompt, options with { Seed = 8 }), Is.Not.EqualTo(a));
        // the generator reads the engine's slab in place, like the training session
        var greedy = generator.Continue(prompt, new SamplingOptions(MaxNewTokens: 10));
        int slot = model.ReadWeights().Layout.IndexOf("model.layers.4.mlp.up_proj.weight");
        model.ReadWeights().WriteFloat32(slot, model.ReadWeights().ReadFloat32(slot).Select(v => -v).ToArray());
        Assert.That(generator.Continue(prompt, new SamplingOptions(MaxNewTokens: 10)), Is.Not.EqualTo(greedy));
    }

    [Test]
    public void TopPKeepsOnlyTheNucleus()
    {
        var logits = new float[] { 5, 4, 0, -3, -3 };
        var rnd = new Random(1);
        var picks = Enumerable.Range(0, 2000).Select(_ => TextGenerator.Pick(logits, new SamplingOptions(Temperature: 1, TopP: 0.5), rnd)).ToHashSet();
        Assert.That(picks, Is.EquivalentTo(new[] { 0 }), "p(token 0) ≈ 0.72 ≥ 0.5: the nucleus is that token alone");
        picks = Enumerable.Range(0, 2000).Select(_ => TextGenerator.Pick(logits, new SamplingOptions(Temperature: 1, TopP: 0.99), rnd)).ToHashSet();
        Assert.That(picks, Is.SupersetOf(new[] { 0, 1 }));
        Assert.That(TextGenerator.Pick(logits, new SamplingOptions(), rnd), Is.Zero, "temperature 0 is greedy");
    }
}
