using System.Text.RegularExpressions;
using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Peft;
using OrtZo.Tasks;
using OrtZo.Training;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Errors;

/// <summary>
/// Every way a file can be wrong has a test of its own: each reason of the six file kinds (ortzo.json, run.json,
/// adapter folders, safetensors, ONNX, task data) is asserted somewhere. The three families written as case tables
/// are compared with their enums directly; for the others, a test must assert the reason by name.
/// </summary>
public class ReasonCoverageTests
{
    [Test]
    public void EveryModelFolderCheckpointAndAdapterReasonHasACase()
    {
        Assert.That(ModelFolderErrorTests.Covered, Is.EquivalentTo(Enum.GetValues<ModelFolderError>().Cast<Enum>()));
        Assert.That(CheckpointErrorTests.Covered, Is.EquivalentTo(Enum.GetValues<CheckpointError>().Cast<Enum>()));
        Assert.That(AdapterFolderErrorTests.Covered, Is.EquivalentTo(Enum.GetValues<AdapterFolderError>().Cast<Enum>()));
    }

    [TestCase(typeof(WeightStoreError))]
    [TestCase(typeof(OnnxError))]
    [TestCase(typeof(TaskDataError))]
    public void EverySafetensorsOnnxAndTaskDataReasonIsAssertedByATest(Type reasons)
    {
        string tests = Path.Combine(TestPaths.RepoRoot, "tests", "OrtZo.Tests");
        string self = Path.GetFullPath(Path.Combine(tests, "Errors", "ReasonCoverageTests.cs"));
        var text = string.Join("\n", Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && Path.GetFullPath(f) != self)
            .Select(File.ReadAllText));
        var missing = Enum.GetNames(reasons).Where(n => !Regex.IsMatch(text, $@"\b{reasons.Name}\.{n}\b")).ToList();
        Assert.That(missing, Is.Empty, $"{reasons.Name} values no test asserts");
    }
}
