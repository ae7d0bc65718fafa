using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrtZo.Engine;
using OrtZo.Onnx.Model;
using OrtZo.Runtime;
using OrtZo.WeightStore;

namespace OrtZo.Session;

/// <summary>
/// An ORT session over a model folder whose weights are graph inputs bound, once, to the engine's weight buffers.
///
/// Binding contract (ORT's IoBinding): a bound input whose memory already sits where its consumers expect
/// it is shared, not copied, so writes the engine makes to the slab between runs are seen by the next run
/// with no rebinding. A binding that needs a copy makes it once, at bind time, and later writes are silently
/// ignored; for CPU weights bound as CPU OrtValues no copy is needed, and a test checks that in-place edits
/// show up. Weights are never session initializers: ORT would prepack or constant-fold them and miss edits.
///
/// Token inputs and score outputs live in preallocated native buffers; OrtValues over them are created once
/// per (rows, seq) shape and reused, so a steady-shape training loop allocates nothing per run. On a CUDA device
/// the weights are bound from device memory (and every weight input is proven to be read there), and the token
/// inputs and scores have device twins copied on the weights' compute stream (<see cref="CudaSessionIo"/>).
/// </summary>
internal sealed unsafe class ScoringSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<OrtValue> _weightValues = new();
    private readonly NativeBuffer _inputIds, _attentionMask, _positionIds, _labelMask, _sum, _mean;
    private readonly Dictionary<(int Rows, int Seq), InputShapeValues> _inputsByShape = new();
    private readonly Dictionary<int, OutputValues> _outputsByRows = new();
    private (int Rows, int Seq) _boundInputShape = (-1, -1);
    private int _boundOutputRows = -1;
    private readonly GraphInputs _inputs;
    private readonly GraphOutputs _outputs;
    private readonly CudaSessionIo? _cuda;
    private readonly HashSet<string> _tokensOnHost = new(StringComparer.Ordinal);
    private readonly bool _cudaGraph;
    private readonly Dictionary<(int Rows, int Seq), RunOptions> _graphRuns = new();

    public ScoringSession(ModelFolder folder, IWeightBackend weights, ZoDevice device, int maxRows, int maxSeq, int intraOpThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeq, 2);
        if (maxSeq > folder.Manifest.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxSeq), $"sequence length {maxSeq} exceeds the model's max_length {folder.Manifest.MaxLength}");
        Folder = folder;
        Layout = weights.Layout;
        Device = device;
        MaxRows = maxRows;
        MaxSeq = maxSeq;
        _inputs = folder.Manifest.Inputs;
        _outputs = folder.Manifest.Outputs;

        _cudaGraph = weights.Memory == WeightMemory.CudaDevice && ExecutionProviders.CudaGraphRequested;
        using var so = ExecutionProviders.CreateSessionOptions(device, intraOpThreads, weights.ComputeStream, _cudaGraph);
        try
        {
            _session = new InferenceSession(folder.GraphPath, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw ModelErrors.Fail(ModelFolderError.GraphUnloadable, folder.GraphPath, null, $"ONNX Runtime cannot load the graph: {e.Message}", e);
        }
        try
        {
            CheckGraph();
            if (weights.Memory == WeightMemory.CudaDevice)
            {
                WeightPlacement.Verify(_session, Layout.Slots.Select(s => s.Spec.Name).ToHashSet(StringComparer.Ordinal),
                    WeightPlacement.CudaDevice(weights.DeviceIndex), $"CUDA device {weights.DeviceIndex}", folder.GraphPath);
                // a token input that ORT reads in host memory (a CPU-placed consumer) is bound from the host buffer, which
                // it then reads at each run; bound from the device twin, it would be copied once at bind time and go stale
                _tokensOnHost = WeightPlacement.ReadOnHost(_session, TokenInputNames());
                _cuda = new CudaSessionIo(weights.DeviceIndex, weights.ComputeStream, checked((long)maxRows * maxSeq), maxRows);
                // the scores are read with a copy on the compute stream, which is the synchronisation the run needs
                _runOptions.AddRunConfigEntry("disable_synchronize_execution_providers", "1");
            }
            _binding = _session.CreateIoBinding();
            _weightValues.AddRange(WeightBinding.Bind(_binding, weights));
            long cells = checked((long)maxRows * maxSeq);
            _inputIds = new NativeBuffer(cells * sizeof(long));
            _attentionMask = new NativeBuffer(cells * sizeof(long));
            _positionIds = new NativeBuffer(cells * sizeof(long));
            _labelMask = new NativeBuffer(cells * sizeof(float));
            _sum = new NativeBuffer(maxRows * sizeof(float));
            _mean = new NativeBuffer(maxRows * sizeof(float));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public ModelFolder Folder { get; }
    public SlabLayout Layout { get; }
    public ZoDevice Device { get; }
    public int MaxRows { get; }
    public int MaxSeq { get; }
    public bool HasAttentionMask => _inputs.AttentionMask is not null;
    public bool HasPositionIds => _inputs.PositionIds is not null;

    /// <summary>Token buffer for a batch of <paramref name="rows"/> × <paramref name="seq"/>, row-major.</summary>
    public Span<long> InputIds(int rows, int seq) => _inputIds.AsSpan<long>(0, Cells(rows, seq));

    public Span<long> AttentionMask(int rows, int seq) => _attentionMask.AsSpan<long>(0, Cells(rows, seq));

    public Span<float> LabelMask(int rows, int seq) => _labelMask.AsSpan<float>(0, Cells(rows, seq));

    public ReadOnlySpan<float> SumLogprob(int rows) => _sum.AsSpan<float>(0, rows);

    public ReadOnlySpan<float> MeanLogprob(int rows) => _mean.AsSpan<float>(0, rows);

    /// <summary>Runs the scoring forward on the first rows × seq cells of the input buffers.</summary>
    public void Run(int rows, int seq)
    {
        Cells(rows, seq);
        if (_boundInputShape != (rows, seq))
        {
            if (!_inputsByShape.TryGetValue((rows, seq), out var iv))
            {
                iv = CreateInputValues(rows, seq);
                _inputsByShape.Add((rows, seq), iv);
            }
            if (HasPositionIds) FillPositions(rows, seq);
            _binding.BindInput(_inputs.InputIds, iv.InputIds);
            if (iv.AttentionMask is not null) _binding.BindInput(_inputs.AttentionMask!, iv.AttentionMask);
            if (iv.PositionIds is not null) _binding.BindInput(_inputs.PositionIds!, iv.PositionIds);
            _binding.BindInput(_inputs.LabelMask, iv.LabelMask);
            _boundInputShape = (rows, seq);
        }
        if (_boundOutputRows != rows)
        {
            if (!_outputsByRows.TryGetValue(rows, out var ov))
            {
                ov = _cuda is { } cuda
                    ? new OutputValues(cuda.Value(cuda.Sum, TensorElementType.Float, [rows], rows * sizeof(float)),
                        cuda.Value(cuda.Mean, TensorElementType.Float, [rows], rows * sizeof(float)))
                    : new OutputValues(
                        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [rows], (IntPtr)_sum.Pointer, rows * sizeof(float)),
                        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [rows], (IntPtr)_mean.Pointer, rows * sizeof(float)));
                _outputsByRows.Add(rows, ov);
            }
            _binding.ClearBoundOutputs();
            _binding.BindOutput(_outputs.SumLogprob, ov.Sum);
            _binding.BindOutput(_outputs.MeanLogprob, ov.Mean);
            _boundOutputRows = rows;
        }
        if (_cuda is { } device)
        {
            long cells = (long)rows * seq;
            if (OnDevice(_inputs.InputIds)) device.Upload(_inputIds, device.InputIds, cells * sizeof(long));
            if (HasAttentionMask && OnDevice(_inputs.AttentionMask!)) device.Upload(_attentionMask, device.AttentionMask, cells * sizeof(long));
            if (HasPositionIds && OnDevice(_inputs.PositionIds!)) device.Upload(_positionIds, device.PositionIds, cells * sizeof(long));
            if (OnDevice(_inputs.LabelMask)) device.Upload(_labelMask, device.LabelMask, cells * sizeof(float));
            _session.RunWithBinding(_cudaGraph ? GraphRun(rows, seq) : _runOptions, _binding);
            device.DownloadScores(_sum, _mean, rows);
            return;
        }
        _session.RunWithBinding(_runOptions, _binding);
    }

    private InputShapeValues CreateInputValues(int rows, int seq)
    {
        long[] shape = [rows, seq];
        long cells = (long)rows * seq;
        return new InputShapeValues(
            Value(_inputs.InputIds, _inputIds, c => c.InputIds, TensorElementType.Int64, cells * sizeof(long)),
            HasAttentionMask ? Value(_inputs.AttentionMask!, _attentionMask, c => c.AttentionMask, TensorElementType.Int64, cells * sizeof(long)) : null,
            HasPositionIds ? Value(_inputs.PositionIds!, _positionIds, c => c.PositionIds, TensorElementType.Int64, cells * sizeof(long)) : null,
            Value(_inputs.LabelMask, _labelMask, c => c.LabelMask, TensorElementType.Float, cells * sizeof(float)));

        OrtValue Value(string input, NativeBuffer host, Func<CudaSessionIo, Cuda.CudaDeviceMemory> twin, TensorElementType type, long bytes) =>
            _cuda is { } cuda && OnDevice(input)
                ? cuda.Value(twin(cuda), type, shape, bytes)
                : OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (IntPtr)host.Pointer, bytes);
    }

    /// <summary>Run options naming the CUDA graph of one (rows, seq) shape: ORT captures each id once and replays it.</summary>
    private RunOptions GraphRun(int rows, int seq)
    {
        if (_graphRuns.TryGetValue((rows, seq), out var run)) return run;
        run = new RunOptions();
        run.AddRunConfigEntry("disable_synchronize_execution_providers", "1");
        run.AddRunConfigEntry("gpu_graph_id", _graphRuns.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _graphRuns.Add((rows, seq), run);
        return run;
    }

    /// <summary>Whether a token input is fed from its device twin (on a CUDA session, unless ORT reads it on the host).</summary>
    private bool OnDevice(string input) => _cuda is not null && !_tokensOnHost.Contains(input);

    private IEnumerable<string> TokenInputNames()
    {
        yield return _inputs.InputIds;
        if (_inputs.AttentionMask is { } am) yield return am;
        if (_inputs.PositionIds is { } pi) yield return pi;
        yield return _inputs.LabelMask;
    }

    // Rows are right-padded, so every row's positions count from 0.
    private void FillPositions(int rows, int seq)
    {
        var pos = _positionIds.AsSpan<long>(0, (long)rows * seq);
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < seq; t++) pos[r * seq + t] = t;
    }

    private int Cells(int rows, int seq)
    {
        if (rows < 1 || rows > MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows; this session holds 1..{MaxRows}");
        if (seq < 2 || seq > MaxSeq) throw new ArgumentOutOfRangeException(nameof(seq), $"sequence length {seq}; this session holds 2..{MaxSeq}");
        return rows * seq;
    }

    private void CheckGraph()
    {
        string file = Folder.GraphPath;
        var inputs = _session.InputMetadata;
        foreach (var w in Layout.Slots)
        {
            if (!inputs.TryGetValue(w.Spec.Name, out var meta))
                throw ModelErrors.Fail(ModelFolderError.WeightMismatch, file, w.Spec.Name, "weight listed in ortzo.json is not a graph input");
            if (meta.ElementDataType != ElementType(w.DType))
                throw ModelErrors.Fail(ModelFolderError.WeightMismatch, file, w.Spec.Name, $"graph input is {meta.ElementDataType}, ortzo.json says {w.DType.ToShortName()}");
            if (!meta.Dimensions.Select(d => (long)d).SequenceEqual(w.Spec.Shape))
                throw ModelErrors.Fail(ModelFolderError.WeightMismatch, file, w.Spec.Name, $"graph input shape [{string.Join(", ", meta.Dimensions)}] differs from ortzo.json {w.Spec.ShapeText}");
        }
        RequireInput(inputs, _inputs.InputIds, TensorElementType.Int64);
        RequireInput(inputs, _inputs.LabelMask, TensorElementType.Float);
        if (_inputs.AttentionMask is { } am) RequireInput(inputs, am, TensorElementType.Int64);
        if (_inputs.PositionIds is { } pi) RequireInput(inputs, pi, TensorElementType.Int64);
        int expected = Layout.Slots.Count + 2 + (HasAttentionMask ? 1 : 0) + (HasPositionIds ? 1 : 0);
        if (inputs.Count != expected)
        {
            var known = new HashSet<string>(Layout.Slots.Select(s => s.Spec.Name)) { _inputs.InputIds, _inputs.LabelMask };
            if (_inputs.AttentionMask is { } a) known.Add(a);
            if (_inputs.PositionIds is { } p) known.Add(p);
            var extra = inputs.Keys.Where(k => !known.Contains(k)).ToList();
            throw ModelErrors.Fail(ModelFolderError.InputMismatch, file, extra.FirstOrDefault(), $"graph has inputs ortzo.json does not describe: {string.Join(", ", extra)}");
        }
        foreach (string o in new[] { _outputs.SumLogprob, _outputs.MeanLogprob })
            if (!_session.OutputMetadata.TryGetValue(o, out var meta) || meta.ElementDataType != TensorElementType.Float)
                throw ModelErrors.Fail(ModelFolderError.OutputMissing, file, o, "missing float output (the scoring head that `ortzo import` appends)");
    }

    private void RequireInput(IReadOnlyDictionary<string, NodeMetadata> inputs, string name, TensorElementType type)
    {
        if (!inputs.TryGetValue(name, out var meta))
            throw ModelErrors.Fail(ModelFolderError.InputMismatch, Folder.GraphPath, name, "graph input named in ortzo.json is missing");
        if (meta.ElementDataType != type)
            throw ModelErrors.Fail(ModelFolderError.InputMismatch, Folder.GraphPath, name, $"graph input is {meta.ElementDataType}, expected {type}");
    }

    internal static TensorElementType ElementType(DType dtype) => dtype switch
    {
        DType.F32 => TensorElementType.Float,
        DType.F16 => TensorElementType.Float16,
        DType.BF16 => TensorElementType.BFloat16,
        _ => throw new NotSupportedException($"{dtype} weights cannot be bound"),
    };

    public void Dispose()
    {
        foreach (var iv in _inputsByShape.Values) iv.Dispose();
        foreach (var ov in _outputsByRows.Values) ov.Dispose();
        foreach (var v in _weightValues) v.Dispose();
        _binding?.Dispose();
        _runOptions.Dispose();
        foreach (var run in _graphRuns.Values) run.Dispose();
        _session?.Dispose();
        _inputIds?.Dispose();
        _attentionMask?.Dispose();
        _positionIds?.Dispose();
        _labelMask?.Dispose();
        _sum?.Dispose();
        _mean?.Dispose();
        _cuda?.Dispose();
    }

    private sealed record InputShapeValues(OrtValue InputIds, OrtValue? AttentionMask, OrtValue? PositionIds, OrtValue LabelMask) : IDisposable
    {
        public void Dispose()
        {
            InputIds.Dispose();
            AttentionMask?.Dispose();
            PositionIds?.Dispose();
            LabelMask.Dispose();
        }
    }

    private sealed record OutputValues(OrtValue Sum, OrtValue Mean) : IDisposable
    {
        public void Dispose()
        {
            Sum.Dispose();
            Mean.Dispose();
        }
    }
}
