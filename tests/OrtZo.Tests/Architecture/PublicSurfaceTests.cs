using NUnit.Framework;

namespace OrtZo.Tests.Architecture;

/// <summary>
/// The public surface is small and deliberate: the four entry types, the records and enums they take or return,
/// and the one exception. Member-level changes are caught at build time by the PublicAPI analyzer
/// (src/OrtZo/PublicAPI.Shipped.txt); this test holds the set of types and their count.
/// </summary>
public class PublicSurfaceTests
{
    private static readonly string[] Expected =
    [
        "OrtZo.BlockWiseMode", "OrtZo.CandidateScore", "OrtZo.EvalResult", "OrtZo.ExamplePrediction", "OrtZo.ExportReport",
        "OrtZo.FrozenBase", "OrtZo.LearningRateSchedule", "OrtZo.OrtZoErrorKind", "OrtZo.OrtZoException", "OrtZo.PeftOptions",
        "OrtZo.PeftScheme", "OrtZo.StepResult", "OrtZo.TaskData", "OrtZo.WeightKinds", "OrtZo.ZoDevice", "OrtZo.ZoModel",
        "OrtZo.ZoObjective", "OrtZo.ZoOptimizer", "OrtZo.ZoOptions", "OrtZo.ZoTrainer",
    ];

    [Test]
    public void AtMostTwentyPublicTypesAllInTheOrtZoNamespace()
    {
        var assemblies = new[] { typeof(ZoModel).Assembly, typeof(OrtZoException).Assembly, typeof(OrtZo.Engine.ZoStep).Assembly,
            typeof(OrtZo.Onnx.Model.ModelFolder).Assembly, typeof(OrtZo.Cuda.CudaDriver).Assembly };
        var exported = assemblies.SelectMany(a => a.GetExportedTypes()).Select(t => t.FullName!).Order(StringComparer.Ordinal).ToList();
        Assert.That(exported, Is.EqualTo(Expected));
        Assert.That(exported, Has.Count.LessThanOrEqualTo(20));
    }

    [Test]
    public void TheLibraryHasOneExceptionType()
    {
        var exceptions = new[] { typeof(ZoModel).Assembly, typeof(OrtZoException).Assembly }
            .SelectMany(a => a.GetExportedTypes()).Where(t => typeof(Exception).IsAssignableFrom(t)).ToList();
        Assert.That(exceptions, Is.EqualTo(new[] { typeof(OrtZoException) }));
    }
}
