using OrtZo.Tools;
using Google.Protobuf;
using NUnit.Framework;
using OrtZo.Onnx;

namespace OrtZo.Tests.Onnx;

public class TinyGptBuilderTests
{
    [Test]
    public void SameConfig_GivesTheSameBytes_AnotherSeedOtherWeights()
    {
        var config = new TinyGptConfig { Layers = 1, MaxLength = 16 };
        byte[] a = TinyGptBuilder.Build(config).ToByteArray();
        Assert.That(TinyGptBuilder.Build(config).ToByteArray(), Is.EqualTo(a));
        var other = TinyGptBuilder.Build(config with { Seed = 2 });
        var first = TinyGptBuilder.Build(config);
        Assert.That(other.Graph.Node.Select(n => n.OpType), Is.EqualTo(first.Graph.Node.Select(n => n.OpType)));
        Assert.That(other.Graph.Initializer.First().RawData, Is.Not.EqualTo(first.Graph.Initializer.First().RawData));
    }

    [Test]
    public void Weights_HaveTheRequestedScale()
    {
        var model = TinyGptBuilder.Build(new TinyGptConfig { VocabSize = 512, ModelDim = 128, Heads = 4, Layers = 1 });
        var wte = TensorData.ReadFloats(model.Graph.Initializer.Single(t => t.Name == "transformer.wte.weight"), null, null);
        double mean = wte.Average(), std = Math.Sqrt(wte.Average(x => (x - mean) * (x - mean)));
        Assert.That(mean, Is.EqualTo(0).Within(0.001));
        Assert.That(std, Is.EqualTo(0.02).Within(0.0005));
    }

    [Test]
    public void SplitMix64_MatchesItsPublishedOutputs()
    {
        // Vigna's reference splitmix64.c: seed 0 gives 0xE220A8397B1DCDAF first; seed 1234567 gives 6457827717110365317, 3203168211198807973.
        Assert.That(new SeededNormal(0).NextUInt64(), Is.EqualTo(0xE220A8397B1DCDAFUL));
        var generator = new SeededNormal(1234567);
        Assert.That(new[] { generator.NextUInt64(), generator.NextUInt64() }, Is.EqualTo(new[] { 6457827717110365317UL, 3203168211198807973UL }));
    }

    [Test]
    public void InvalidShapes_AreRefused()
    {
        Assert.Throws<OrtZoException>(() => TinyGptBuilder.Build(new TinyGptConfig { ModelDim = 66, Heads = 4 }));
        Assert.Throws<OrtZoException>(() => TinyGptBuilder.Build(new TinyGptConfig { Opset = 10 }));
    }
}
