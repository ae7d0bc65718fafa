using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Runtime;
using OrtZo.Session;

namespace OrtZo.Tests.Session;

/// <summary>
/// The placement proof a CUDA session runs at creation, exercised on a CPU session (where every input is expected in
/// CPU memory): asked to find the weights in CUDA memory it must refuse, naming a weight and the nodes that read it;
/// asked for the memory they really are in, it must pass.
/// </summary>
public class WeightPlacementTests
{
    [Test]
    public void AWeightReadOutsideTheEnginesMemoryIsNamedWithItsReaders()
    {
        var folder = ModelFolder.Open(TestPaths.Stories260k);
        using var so = ExecutionProviders.CreateSessionOptions(ZoDevice.Cpu, 1);
        using var session = new InferenceSession(folder.GraphPath, so);
        var weights = folder.Manifest.WeightInputs.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);

        Assert.DoesNotThrow(() => WeightPlacement.Verify(session, weights, WeightPlacement.Host, "host", folder.GraphPath));
        var e = Assert.Throws<OrtZoException>(() => WeightPlacement.Verify(session, weights, WeightPlacement.CudaDevice(0), "CUDA device 0", folder.GraphPath))!;
        Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.DeviceUnavailable));
        Assert.That(e.Reason, Is.EqualTo(DeviceError.CpuFallback));
        string first = session.InputNames.First(weights.Contains);
        Assert.That(e.Message, Does.Contain($"weight input '{first}'").And.Contain("Cpu memory").And.Contain($"{weights.Count} weight input(s)"));
        Assert.That(e.Message, Does.Match(@"by \w+ '[^']*'"), "names an op and node that reads the weight");
        Assert.That(WeightPlacement.ReadOnHost(session, ["input_ids", "label_mask", first]),
            Is.EquivalentTo(new[] { "input_ids", "label_mask", first }), "a CPU session reads every input in host memory");
    }

    [Test]
    public void ReadersComeFromTheSavedGraph()
    {
        var folder = ModelFolder.Open(TestPaths.Stories260k);
        var embedding = folder.Manifest.WeightInputs.First(w => w.Role == WeightRole.Embedding).Name;
        var readers = WeightPlacement.Readers(folder.GraphPath, ["input_ids", embedding, "no such input"])!;
        Assert.That(readers["input_ids"], Has.Some.StartsWith("Gather "), "the token ids are looked up by a Gather");
        Assert.That(readers[embedding], Has.Some.StartsWith("Gather "), "and so is the embedding table");
        Assert.That(readers["no such input"], Is.Empty, "an input nothing reads has no readers, so the proof leaves it out");
    }
}
