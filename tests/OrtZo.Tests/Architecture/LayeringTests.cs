using System.Reflection;
using NetArchTest.Rules;
using NUnit.Framework;

namespace OrtZo.Tests.Architecture;

/// <summary>
/// The dependency lines of the solution, held by assembly references (what a project may link) and by type-level
/// dependencies (what its code may touch): the engine knows neither ONNX Runtime nor protobuf nor the ONNX
/// project; ONNX graph work runs no sessions; the CUDA binding knows no ORT; only the namespaces that run graphs
/// touch ORT.
/// </summary>
public class LayeringTests
{
    private static readonly Assembly WeightStore = typeof(OrtZoException).Assembly;
    private static readonly Assembly Engine = typeof(OrtZo.Engine.ZoStep).Assembly;
    private static readonly Assembly Onnx = typeof(OrtZo.Onnx.Model.ModelFolder).Assembly;
    private static readonly Assembly Cuda = typeof(OrtZo.Cuda.CudaDriver).Assembly;
    private static readonly Assembly Library = typeof(ZoModel).Assembly;

    private static HashSet<string> References(Assembly a) => a.GetReferencedAssemblies().Select(r => r.Name!).ToHashSet();

    public static IEnumerable<TestCaseData> ForbiddenReferences()
    {
        string[] ort = ["Microsoft.ML.OnnxRuntime"], proto = ["Google.Protobuf"];
        yield return new TestCaseData(WeightStore, new[] { "OrtZo.Engine", "OrtZo.Onnx", "OrtZo.Cuda", "OrtZo" }.Concat(ort).Concat(proto).ToArray()).SetName("WeightStore references nothing of ours, no ORT, no protobuf");
        yield return new TestCaseData(Engine, new[] { "OrtZo.Onnx", "OrtZo.Cuda", "OrtZo" }.Concat(ort).Concat(proto).ToArray()).SetName("Engine references neither ORT, protobuf, the ONNX project nor the library");
        yield return new TestCaseData(Onnx, new[] { "OrtZo.Engine", "OrtZo.Cuda", "OrtZo" }.Concat(ort).ToArray()).SetName("Onnx runs no sessions and knows no engine");
        yield return new TestCaseData(Cuda, new[] { "OrtZo.Onnx", "OrtZo" }.Concat(ort).Concat(proto).ToArray()).SetName("Cuda knows the engine, not ORT or ONNX");
    }

    [TestCaseSource(nameof(ForbiddenReferences))]
    public void AssemblyReferencesStayBelowTheirLayer(Assembly assembly, string[] forbidden)
    {
        var bad = References(assembly).Intersect(forbidden).ToList();
        Assert.That(bad, Is.Empty, $"{assembly.GetName().Name} references {string.Join(", ", bad)}");
    }

    [Test]
    public void EngineTypesDependOnNoOnnxRuntimeProtobufOrOnnxTypes()
    {
        var result = Types.InAssembly(Engine).ShouldNot()
            .HaveDependencyOnAny("Microsoft.ML.OnnxRuntime", "Google.Protobuf", "OrtZo.Onnx", "OrtZo.Cuda", "OrtZo.Session", "OrtZo.Training", "OrtZo.Tasks")
            .GetResult();
        Assert.That(result.IsSuccessful, Is.True, Failing(result));
    }

    [Test]
    public void OnnxTypesRunNoSessionsAndTouchNoEngine()
    {
        var result = Types.InAssembly(Onnx).ShouldNot()
            .HaveDependencyOnAny("Microsoft.ML.OnnxRuntime", "OrtZo.Engine", "OrtZo.Session", "OrtZo.Training")
            .GetResult();
        Assert.That(result.IsSuccessful, Is.True, Failing(result));
    }

    [Test]
    public void OnlyTheNamespacesThatRunGraphsTouchOnnxRuntime()
    {
        var touching = Types.InAssembly(Library).That().HaveDependencyOn("Microsoft.ML.OnnxRuntime").GetTypes().Select(t => t.Name).ToList();
        Assert.That(touching, Does.Contain("ScoringSession"), "the rule sees the session's use of ORT (it is not vacuous)");
        var result = Types.InAssembly(Library).That().HaveDependencyOn("Microsoft.ML.OnnxRuntime")
            .Should().ResideInNamespace("OrtZo.Session").Or().ResideInNamespace("OrtZo.Runtime").Or().ResideInNamespace("OrtZo.Import")
            .Or().ResideInNamespace("OrtZo.Generation").Or().HaveName("ActivationProbe")
            .GetResult();
        Assert.That(result.IsSuccessful, Is.True, Failing(result));
    }

    private static string Failing(TestResult result) =>
        result.FailingTypeNames is { } names ? "offending types: " + string.Join(", ", names) : "";
}
