using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrtZo.WeightStore;

using OrtZo.Onnx.Model;

namespace OrtZo.Import;

/// <summary>
/// Runs the scoring graph of an imported model folder on ORT's CPU provider, with every weight input fed
/// straight from the memory-mapped weights file (no copy). This is the importer's own smoke check and the
/// tests' way to score a folder; training binds weights through the engine, not through this class.
/// </summary>
internal sealed unsafe class ImportedModelRunner : IDisposable
{
    private readonly SafetensorsFile _weights;
    private readonly InferenceSession _session;
    private readonly List<OrtValue> _weightValues = [];

    private ImportedModelRunner(string folder, ModelManifest manifest, SafetensorsFile weights, InferenceSession session)
    {
        Folder = folder;
        Manifest = manifest;
        _weights = weights;
        _session = session;
        foreach (var w in manifest.WeightInputs)
        {
            var entry = weights.Get(w.Name);
            _weightValues.Add(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, OrtZo.Session.ScoringSession.ElementType(entry.Spec.DType),
                [.. entry.Spec.Shape], (IntPtr)weights.GetPointer(entry), entry.Spec.ByteLength));
        }
    }

    public string Folder { get; }

    public ModelManifest Manifest { get; }

    public InferenceSession Session => _session;

    /// <summary>Per-example scores, and the logits when asked for (row-major [B,T,V]).</summary>
    internal sealed record Scores(float[] SumLogprob, float[] MeanLogprob, float[]? Logits);

    public static ModelManifest ReadManifest(string folder)
    {
        string path = Path.Combine(folder, ModelManifest.FileName);
        try
        {
            return ModelFolder.ReadManifest(path);
        }
        catch (OrtZoException e) when (e.Kind == OrtZoErrorKind.InvalidModel)
        {
            throw Onnx.OnnxErrors.Fail(Onnx.OnnxError.Unreadable, path, null, $"not a valid model manifest: {e.Message}", e);
        }
    }

    public static ImportedModelRunner Open(string folder, int threads = 1)
    {
        var manifest = ReadManifest(folder);
        var weights = SafetensorsFile.Open(Path.Combine(folder, manifest.Weights));
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            var session = new InferenceSession(Path.Combine(folder, manifest.Graph), options);
            return new ImportedModelRunner(folder, manifest, weights, session);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Scores a batch: <paramref name="inputIds"/> row-major [batch, seq]; <paramref name="attentionMask"/>
    /// (ignored when the graph takes none; all ones when null); <paramref name="labelMask"/> [batch, seq].
    /// </summary>
    public Scores Score(long[] inputIds, int batch, int seq, long[]? attentionMask, float[] labelMask, bool withLogits = false)
    {
        long[] shape = [batch, seq];
        var names = new List<string>();
        var values = new List<OrtValue>();
        var owned = new List<OrtValue>();
        try
        {
            void Feed(string name, OrtValue value)
            {
                owned.Add(value);
                names.Add(name);
                values.Add(value);
            }
            Feed(Manifest.Inputs.InputIds, OrtValue.CreateTensorValueFromMemory(inputIds, shape));
            if (Manifest.Inputs.AttentionMask is string mask)
                Feed(mask, OrtValue.CreateTensorValueFromMemory(attentionMask ?? Enumerable.Repeat(1L, batch * seq).ToArray(), shape));
            if (Manifest.Inputs.PositionIds is string positions)
                Feed(positions, OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, batch * seq).Select(i => (long)(i % seq)).ToArray(), shape));
            Feed(Manifest.Inputs.LabelMask, OrtValue.CreateTensorValueFromMemory(labelMask, shape));
            for (int i = 0; i < Manifest.WeightInputs.Count; i++)
            {
                names.Add(Manifest.WeightInputs[i].Name);
                values.Add(_weightValues[i]);
            }
            var outputs = new List<string> { Manifest.Outputs.SumLogprob, Manifest.Outputs.MeanLogprob };
            if (withLogits && Manifest.Outputs.Logits is string logits) outputs.Add(logits);
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, names, values, outputs);
            var list = results.ToList();
            return new Scores(list[0].GetTensorDataAsSpan<float>().ToArray(), list[1].GetTensorDataAsSpan<float>().ToArray(),
                list.Count > 2 ? list[2].GetTensorDataAsSpan<float>().ToArray() : null);
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var v in _weightValues) v.Dispose();
        _session.Dispose();
        _weights.Dispose();
    }

}
