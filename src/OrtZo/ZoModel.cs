using OrtZo.Model;
using OrtZo.Runtime;
using OrtZo.Session;
using OrtZo.Tasks;
using OrtZo.Tokenization;
using OrtZo.Training;
using OrtZo.WeightStore;

namespace OrtZo;

/// <summary>
/// An OrtZo model folder opened for scoring and training: its weights in one engine-owned slab, bound as
/// graph inputs of an ONNX Runtime session. Dispose releases the session and the weights.
/// </summary>
/// <example>
/// <code>
/// using var model = ZoModel.Open("models/tiny-gpt");
/// var test = TaskData.Load("data/sst2-test.jsonl", "sst2");
/// Console.WriteLine(model.Evaluate(test).Accuracy);
/// </code>
/// </example>
public sealed class ZoModel : IDisposable
{
    private readonly Dictionary<TaskData, (int MaxLength, EncodedExample[] Encoded)> _encoded = new(ReferenceEqualityComparer.Instance);
    private ScoringSession? _session;

    private ZoModel(ModelFolder folder, CpuSlab slab, TextTokenizer tokenizer, ZoDevice device, int threads)
    {
        Folder = folder;
        Slab = slab;
        Tokenizer = tokenizer;
        Device = device;
        Threads = threads;
    }

    /// <summary>Opens a model folder (see README, "Model folder format").</summary>
    /// <param name="device">Where to run; CPU by default.</param>
    /// <param name="threads">CPU threads for ORT and the weight kernels (default: all cores).</param>
    public static ZoModel Open(string folder, ZoDevice? device = null, int? threads = null)
    {
        OrtLibrary.Initialize();
        var dev = device ?? ZoDevice.Cpu;
        if (dev.Kind != DeviceKind.Cpu)
            throw new NotSupportedException($"device {dev}: this build runs models on cpu only");
        var modelFolder = ModelFolder.Open(folder);
        var tokenizer = TextTokenizer.Open(modelFolder.Path, modelFolder.Manifest.Tokenizer);
        var slab = modelFolder.LoadWeights();
        return new ZoModel(modelFolder, slab, tokenizer, dev, threads ?? Environment.ProcessorCount);
    }

    /// <summary>Folder the model was opened from.</summary>
    public string FolderPath => Folder.Path;

    public ZoDevice Device { get; }

    /// <summary>Number of weights bound as graph inputs.</summary>
    public long ParameterCount => Slab.Layout.ElementCount;

    /// <summary>Longest token sequence the model accepts.</summary>
    public int MaxLength => Folder.Manifest.MaxLength;

    internal ModelFolder Folder { get; }
    internal CpuSlab Slab { get; }
    internal TextTokenizer Tokenizer { get; }
    internal int Threads { get; }

    /// <summary>Called before anything reads the weights, so a trainer can settle a held-back update.</summary>
    internal Action? BeforeWeightsRead { get; set; }

    /// <summary>Scores every candidate of every example and reports accuracy and the task's loss.</summary>
    public EvalResult Evaluate(TaskData data, int batchSize = 16) => Evaluate(data, batchSize, null);

    /// <param name="progress">Called with the number of examples scored so far.</param>
    internal EvalResult Evaluate(TaskData data, int batchSize, Action<int>? progress)
    {
        BeforeWeightsRead?.Invoke();
        return Evaluator.Evaluate(this, data, batchSize, progress);
    }

    /// <summary>Writes the current weights as a model folder (same graph and tokenizer).</summary>
    public void Save(string folder)
    {
        BeforeWeightsRead?.Invoke();
        Folder.SaveWithWeights(folder, Slab);
    }

    /// <summary>The task's examples tokenized for this model (cached per data set).</summary>
    internal EncodedExample[] Encode(TaskData data)
    {
        if (_encoded.TryGetValue(data, out var cached)) return cached.Encoded;
        var encoded = data.Encode(Tokenizer, MaxLength);
        _encoded[data] = (MaxLength, encoded);
        return encoded;
    }

    /// <summary>A scoring session able to run at least rows × seq; recreated (rarely) when a batch outgrows it.</summary>
    internal ScoringSession Session(int rows, int seq)
    {
        if (_session is { } s && s.MaxRows >= rows && s.MaxSeq >= seq) return s;
        int maxRows = Math.Max(rows, _session?.MaxRows ?? 0);
        int maxSeq = Math.Min(MaxLength, Math.Max(seq, _session?.MaxSeq ?? 0));
        _session?.Dispose();
        _session = null;
        _session = new ScoringSession(Folder, Slab, Device, maxRows, maxSeq, Threads);
        return _session;
    }

    public void Dispose()
    {
        _session?.Dispose();
        Slab.Dispose();
    }
}
