using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrtZo.Engine;
using OrtZo.Export;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Runtime;
using OrtZo.Session;

namespace OrtZo.Generation;

/// <summary>
/// Decoding through the model's graph with a KV cache added (<see cref="KvCachedGraph"/>): the prompt runs once,
/// then each step feeds one token and the previous step's present keys and values, so a step costs one position
/// instead of the whole sequence. The weights are bound from the engine's buffers, as for training, so a model
/// generates with its current tuned values. The cache lives in host memory between steps.
/// </summary>
internal sealed unsafe class KvCacheDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly List<OrtValue> _weights = new();
    private readonly List<OrtValue> _past = new();
    private readonly GraphInputs _inputs;
    private readonly string _logits;
    private int _pastLength;

    public KvCacheDecoder(ZoModel model)
    {
        KvCachedGraph.EnsureSupported(model);
        var manifest = model.Folder.Manifest;
        _inputs = manifest.Inputs;
        _logits = manifest.Outputs.Logits ?? throw ModelErrors.Fail(ModelFolderError.OutputMissing, model.Folder.ManifestPath, "outputs.logits", "this model folder keeps no logits output, so it cannot generate");
        string path = model.Folder.GraphPath;
        var graph = OnnxModelFile.Parse(File.ReadAllBytes(path), path);
        ModelExporter.RemoveScoringHead(graph, manifest, _logits, 0, path);
        Layout = KvCachedGraph.Apply(graph, model, path);
        var backend = model.Engine.Weights.Backend;
        using var so = ExecutionProviders.CreateSessionOptions(model.Device, model.Threads, backend.ComputeStream);
        // A PEFT model's graph keeps the frozen base weights as external data beside it; a graph loaded from memory
        // has no folder of its own to find them in.
        so.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", model.Folder.Path);
        _session = new InferenceSession(graph.ToByteArray(), so);
        try
        {
            if (backend.Memory == WeightMemory.CudaDevice)
                WeightPlacement.Verify(_session, backend.Layout.Slots.Select(s => s.Spec.Name).ToHashSet(StringComparer.Ordinal),
                    WeightPlacement.CudaDevice(backend.DeviceIndex), $"CUDA device {backend.DeviceIndex}", path);
            _binding = _session.CreateIoBinding();
            _weights.AddRange(WeightBinding.Bind(_binding, backend));
        }
        catch
        {
            _session.Dispose();
            throw;
        }
        Reset();
    }

    public KvCacheLayout Layout { get; }

    /// <summary>Positions already in the cache.</summary>
    public int PastLength => _pastLength;

    /// <summary>Empties the cache (a new sequence).</summary>
    public void Reset()
    {
        DisposePast();
        foreach (var tensor in Layout.Tensors)
        {
            var type = ScoringSession.ElementType(OnnxElementType.TryToDType(tensor.ElementType, out var dtype) ? dtype
                : throw new NotSupportedException($"cache element type {OnnxElementType.Name(tensor.ElementType)}"));
            _past.Add(OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, tensor.EmptyShape));
        }
        _pastLength = 0;
    }

    /// <summary>Runs <paramref name="ids"/> after the cached positions; returns the logits of the last one and keeps their keys and values.</summary>
    public float[] Step(IReadOnlyList<int> ids)
    {
        int t = ids.Count, total = _pastLength + t;
        using var input = OrtValue.CreateTensorValueFromMemory(ids.Select(i => (long)i).ToArray(), [1, t]);
        using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, total).ToArray(), [1, total]);
        using var positions = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(_pastLength, t).Select(i => (long)i).ToArray(), [1, t]);
        _binding.BindInput(_inputs.InputIds, input);
        if (Layout.HasAttentionMask) _binding.BindInput(_inputs.AttentionMask!, mask);
        if (Layout.HasPositionIds) _binding.BindInput(_inputs.PositionIds!, positions);
        for (int i = 0; i < Layout.Tensors.Count; i++) _binding.BindInput(Layout.Tensors[i].Past, _past[i]);
        _binding.ClearBoundOutputs();
        _binding.BindOutputToDevice(_logits, OrtMemoryInfo.DefaultInstance);
        foreach (var tensor in Layout.Tensors) _binding.BindOutputToDevice(tensor.Present, OrtMemoryInfo.DefaultInstance);
        using var runOptions = new RunOptions();
        var outputs = _session.RunWithBoundResults(runOptions, _binding);
        try
        {
            var row = LastRow(outputs[0], t);
            DisposePast();
            for (int i = 1; i < outputs.Count; i++) _past.Add(outputs[i]);
            outputs[0].Dispose();
            _pastLength = total;
            return row;
        }
        catch
        {
            foreach (var o in outputs) o.Dispose();
            throw;
        }
    }

    /// <summary>The logits of the last of <paramref name="t"/> positions ([1, t, V], any float type) as float32; the recompute loop reads them the same way.</summary>
    internal static float[] LastRow(OrtValue logits, int t)
    {
        var info = logits.GetTensorTypeAndShape();
        int vocab = (int)(info.ElementCount / t);
        var row = new float[vocab];
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                logits.GetTensorDataAsSpan<float>().Slice((t - 1) * vocab, vocab).CopyTo(row);
                break;
            case TensorElementType.Float16:
                var h = logits.GetTensorDataAsSpan<Float16>().Slice((t - 1) * vocab, vocab);
                for (int i = 0; i < vocab; i++) row[i] = (float)h[i];
                break;
            case TensorElementType.BFloat16:
                var b = logits.GetTensorDataAsSpan<BFloat16>().Slice((t - 1) * vocab, vocab);
                for (int i = 0; i < vocab; i++) row[i] = (float)b[i];
                break;
            default:
                throw new NotSupportedException($"logits of type {info.ElementDataType}");
        }
        return row;
    }

    private void DisposePast()
    {
        foreach (var v in _past) v.Dispose();
        _past.Clear();
    }

    public void Dispose()
    {
        DisposePast();
        foreach (var w in _weights) w.Dispose();
        _binding.Dispose();
        _session.Dispose();
    }
}
