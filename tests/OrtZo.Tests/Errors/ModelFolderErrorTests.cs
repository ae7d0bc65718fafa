using System.Text.Json.Nodes;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tests.Onnx;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Errors;

/// <summary>
/// One case per way a model folder can be wrong (<see cref="ModelFolderError"/>): a copy of the shipped stories260k
/// folder with one thing broken, opened (and where the fault only shows in ONNX Runtime, evaluated) as a user would.
/// </summary>
public class ModelFolderErrorTests
{
    private sealed record Case(Action<string> Break, OrtZoErrorKind Kind, string Names, bool Evaluate = false);

    private static readonly Dictionary<ModelFolderError, Case> Cases = new()
    {
        [ModelFolderError.FolderMissing] = new(f => Directory.Delete(f, true), OrtZoErrorKind.NotFound, "model folder not found"),
        [ModelFolderError.ManifestMissing] = new(f => File.Delete(Manifest(f)), OrtZoErrorKind.InvalidModel, "ortzo.json: missing"),
        [ModelFolderError.ManifestInvalidJson] = new(f => File.WriteAllText(Manifest(f), "{\"format\": "), OrtZoErrorKind.InvalidModel, "invalid JSON"),
        [ModelFolderError.ManifestEmpty] = new(f => File.WriteAllText(Manifest(f), "null"), OrtZoErrorKind.InvalidModel, "empty manifest"),
        [ModelFolderError.WrongFormat] = new(f => Edit(f, m => m["format"] = "safetensors"), OrtZoErrorKind.InvalidModel, "format: 'safetensors', expected 'ortzo-model'"),
        [ModelFolderError.UnsupportedVersion] = new(f => Edit(f, m => m["version"] = 99), OrtZoErrorKind.InvalidModel, "version: 99"),
        [ModelFolderError.FileMissing] = new(f => Edit(f, m => m["graph"] = "gone.onnx"), OrtZoErrorKind.InvalidModel, "graph: names 'gone.onnx'"),
        [ModelFolderError.NoWeights] = new(f => Edit(f, m => m["weight_inputs"] = new JsonArray()), OrtZoErrorKind.InvalidModel, "weight_inputs: empty"),
        [ModelFolderError.DuplicateWeight] = new(f => Edit(f, m => Weights(m).Add(Weights(m)[0]!.DeepClone())), OrtZoErrorKind.InvalidModel, "appears twice"),
        [ModelFolderError.InvalidDType] = new(f => Edit(f, m => Weights(m)[0]!["dtype"] = "i8"), OrtZoErrorKind.InvalidModel, "weight_inputs[0].dtype: 'i8', expected f32, f16 or bf16"),
        [ModelFolderError.InvalidShape] = new(f => Edit(f, m => Weights(m)[0]!["shape"] = new JsonArray(0, 64)), OrtZoErrorKind.InvalidModel, "weight_inputs[0].shape"),
        [ModelFolderError.UnknownGroup] = new(f => Edit(f, m => Weights(m)[0]!["group"] = "layers.99"), OrtZoErrorKind.InvalidModel, "'layers.99' is not listed in groups"),
        [ModelFolderError.TokenizerFileMissing] = new(f => File.Delete(Path.Combine(f, "tokenizer.model")), OrtZoErrorKind.InvalidModel, "tokenizer.files: names 'tokenizer.model'"),
        [ModelFolderError.InvalidTokenizer] = new(f => File.WriteAllBytes(Path.Combine(f, "tokenizer.model"), [1, 2, 3, 4]), OrtZoErrorKind.InvalidModel, "tokenizer.model"),
        [ModelFolderError.MaxLengthTooSmall] = new(f => Edit(f, m => m["max_length"] = 1), OrtZoErrorKind.InvalidModel, "max_length: 1; must be at least 2"),
        [ModelFolderError.GraphUnloadable] = new(f => File.WriteAllBytes(Path.Combine(f, "model.onnx"), [0x08, 0xff, 0xff]), OrtZoErrorKind.InvalidModel, "ONNX Runtime cannot load the graph", Evaluate: true),
        [ModelFolderError.WeightMismatch] = new(RenameFirstWeight, OrtZoErrorKind.InvalidModel, "renamed.weight: weight listed in ortzo.json is not a graph input", Evaluate: true),
        [ModelFolderError.InputMismatch] = new(f => Edit(f, m => m["inputs"]!["input_ids"] = "ids"), OrtZoErrorKind.InvalidModel, "ids: graph input named in ortzo.json is missing", Evaluate: true),
        [ModelFolderError.OutputMissing] = new(f => Edit(f, m => m["outputs"]!["sum_logprob"] = "total"), OrtZoErrorKind.InvalidModel, "total: missing float output", Evaluate: true),
    };

    public static IEnumerable<TestCaseData> Reasons() => Cases.Keys.Select(r => new TestCaseData(r.ToString()).SetName($"model folder: {r}"));

    /// <summary>The reasons this file has a case for (the coverage test compares them with the enum).</summary>
    internal static IEnumerable<Enum> Covered => Cases.Keys.Cast<Enum>();

    [TestCaseSource(nameof(Reasons))]
    public void EachWayAModelFolderIsWrongHasItsOwnError(string reasonName)
    {
        var reason = Enum.Parse<ModelFolderError>(reasonName);
        var c = Cases[reason];
        using var temp = new TempFolder("badmodel");
        string folder = Path.Combine(temp.Path, "model");
        ErrorFixtures.CopyFolder(TestPaths.Stories260k, folder);
        c.Break(folder);
        var e = Assert.Throws<OrtZoException>(() =>
        {
            using var model = ZoModel.Open(folder, threads: 2);
            if (c.Evaluate) model.Evaluate(TaskData.Load(ErrorFixtures.Train, "jsonl").Take(2));
        })!;
        Assert.That(e.Reason, Is.EqualTo(reason), e.Message);
        Assert.That(e.Kind, Is.EqualTo(c.Kind));
        Assert.That(e.Message, Does.Contain(folder).And.Contain(c.Names));
    }

    private static string Manifest(string folder) => Path.Combine(folder, "ortzo.json");

    private static void Edit(string folder, Action<JsonObject> edit) => ErrorFixtures.EditJson(Manifest(folder), edit);

    private static JsonArray Weights(JsonObject manifest) => manifest["weight_inputs"]!.AsArray();

    // the manifest and the weights file agree on a name the graph does not have: only the session sees it
    private static unsafe void RenameFirstWeight(string folder)
    {
        string weights = Path.Combine(folder, "weights.safetensors"), renamedFile = weights + ".new";
        using (var file = SafetensorsFile.Open(weights))
        {
            var sources = file.Tensors.Select((t, i) => TensorSource.FromPointer(i == 0 ? new TensorSpec("renamed.weight", t.Spec.DType, t.Spec.Shape) : t.Spec, file.GetPointer(t))).ToList();
            SafetensorsWriter.Write(renamedFile, sources);
        }
        File.Move(renamedFile, weights, overwrite: true);
        Edit(folder, m => Weights(m)[0]!["name"] = "renamed.weight");
    }
}
