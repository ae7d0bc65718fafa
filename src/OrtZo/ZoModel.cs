using OrtZo.Export;
using OrtZo.Onnx.Peft;
using OrtZo.Onnx.Model;
using OrtZo.Peft;
using OrtZo.Runtime;
using OrtZo.Session;
using OrtZo.Tasks;
using OrtZo.Tokenization;
using OrtZo.Training;
using OrtZo.WeightStore;

namespace OrtZo;

/// <summary>
/// An OrtZo model folder opened for scoring and training: its weights in engine-owned buffers on the chosen device,
/// bound as graph inputs of an ONNX Runtime session. The model owns the weights, their passes and the session;
/// a <see cref="ZoTrainer"/> drives them. Dispose releases all of it.
/// Opened with <see cref="PeftOptions"/> (or from an adapter folder that a PEFT run saved), the slab holds only
/// the adapter tensors and the session runs a rewritten copy of the graph in which the base weights are frozen.
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

    private ZoModel(ModelFolder folder, CpuSlab weights, TextTokenizer tokenizer, ZoDevice device, int threads, PeftState? peft)
    {
        Engine = new ModelEngine(folder, ModelEngine.CreateBackend(weights, device, threads), device, threads);
        Tokenizer = tokenizer;
        PeftState = peft;
    }

    /// <summary>Opens a model folder (see README, "Model folder format") or an adapter folder a PEFT run saved.</summary>
    /// <param name="device">Where to run; CPU by default.</param>
    /// <param name="threads">CPU threads for ORT and the weight kernels (default: all cores).</param>
    /// <param name="peft">
    /// Train adapters instead of the weights (null or <see cref="PeftScheme.Full"/>: all weights). The model folder
    /// is not modified: the rewritten graph goes to a cache (<see cref="PeftOptions.CacheFolder"/>). For an adapter
    /// folder, null keeps its own options; otherwise they must describe the same adapters (only the frozen-base mode
    /// and the cache folder may differ).
    /// </param>
    public static ZoModel Open(string folder, ZoDevice? device = null, int? threads = null, PeftOptions? peft = null)
    {
        OrtLibrary.Initialize();
        var dev = device ?? ZoDevice.Cpu;
        int threadCount = threads ?? Environment.ProcessorCount;
        peft?.Validate();
        if (AdapterFolder.IsAdapterFolder(folder)) return OpenAdapters(folder, dev, threadCount, peft);
        var modelFolder = ModelFolder.Open(folder);
        if (peft is null || peft.Scheme == PeftScheme.Full)
        {
            var tokenizer = TextTokenizer.Open(modelFolder.Path, modelFolder.Manifest.Tokenizer);
            return Create(modelFolder, modelFolder.LoadWeights(), tokenizer, dev, threadCount, null);
        }
        if (modelFolder.Manifest.WeightInputs.Any(w => w.Role == WeightRole.Adapter))
            throw AdapterErrors.Fail(AdapterFolderError.AlreadyRewritten, modelFolder.ManifestPath, "weight_inputs",
                "this folder already holds adapters (it is a rewritten PEFT graph); open the base model folder instead");
        return OpenRewritten(modelFolder, BaseModelIdentity.Of(modelFolder), peft, dev, threadCount, modelFolder.Path, null);
    }

    private static ZoModel OpenAdapters(string folder, ZoDevice device, int threads, PeftOptions? peft)
    {
        var manifest = AdapterFolder.Read(folder);
        var options = manifest.Peft;
        if (peft is not null)
        {
            if (peft.AdapterIdentity() != options.AdapterIdentity())
                throw AdapterErrors.Fail(AdapterFolderError.OptionsDiffer, Path.Combine(Path.GetFullPath(folder), ModelManifest.FileName), "peft",
                    $"the folder holds {options.AdapterIdentity()} adapters; the options given describe {peft.AdapterIdentity()}");
            options = options with { FrozenBase = peft.FrozenBase, CacheFolder = peft.CacheFolder };
        }
        var (baseFolder, identity) = AdapterFolder.OpenBase(folder, manifest);
        return OpenRewritten(baseFolder, identity, options, device, threads, Path.GetFullPath(folder),
            Path.Combine(Path.GetFullPath(folder), manifest.Adapters));
    }

    private static ZoModel OpenRewritten(ModelFolder baseFolder, BaseModelIdentity identity, PeftOptions options, ZoDevice device, int threads,
        string openedFrom, string? adapterValues)
    {
        var derived = PeftCache.Prepare(baseFolder, identity, options, threads);
        var tokenizer = TextTokenizer.Open(derived.Path, derived.Manifest.Tokenizer);
        var slab = derived.LoadWeights();
        try
        {
            if (adapterValues is not null)
            {
                using var file = SafetensorsFile.Open(adapterValues);
                slab.CopyFrom(file);
            }
        }
        catch
        {
            slab.Dispose();
            throw;
        }
        return Create(derived, slab, tokenizer, device, threads, new PeftState(baseFolder, identity, options, openedFrom));
    }

    /// <summary>Takes ownership of <paramref name="weights"/> (released if the device refuses them).</summary>
    private static ZoModel Create(ModelFolder folder, CpuSlab weights, TextTokenizer tokenizer, ZoDevice device, int threads, PeftState? peft)
    {
        try
        {
            return new ZoModel(folder, weights, tokenizer, device, threads, peft);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>Folder the model was opened from (for a PEFT model: the base model folder, or the adapter folder).</summary>
    public string FolderPath => PeftState?.OpenedFrom ?? Folder.Path;

    public ZoDevice Device => Engine.Device;

    /// <summary>Number of weights bound as graph inputs: all of them, or a PEFT model's adapters (the trainable ones).</summary>
    public long ParameterCount => Engine.Weights.Layout.ElementCount;

    /// <summary>The PEFT scheme in use, or null when every weight is trainable.</summary>
    public PeftOptions? Peft => PeftState?.Options;

    /// <summary>Weights of the base model, frozen under PEFT (equal to <see cref="ParameterCount"/> without PEFT).</summary>
    public long BaseParameterCount => PeftState is { } p
        ? p.BaseFolder.Manifest.WeightInputs.Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b))
        : ParameterCount;

    /// <summary>For a PEFT model, the base model (by hash) and the adapter options its adapters belong to; null otherwise.</summary>
    internal string? BaseModelKey => PeftState is { } p ? $"{p.Identity} {p.Options.AdapterIdentity()}" : null;

    internal PeftState? PeftState { get; }

    /// <summary>Longest token sequence the model accepts.</summary>
    public int MaxLength => Folder.Manifest.MaxLength;

    /// <summary>The weights on their device, their passes and the bound session.</summary>
    internal ModelEngine Engine { get; }

    internal ModelFolder Folder => Engine.Folder;
    internal TextTokenizer Tokenizer { get; }
    internal int Threads => Engine.Threads;

    /// <summary>The settled weights in host memory (a held-back update applied; downloaded from a device).</summary>
    internal CpuSlab ReadWeights() => Engine.Weights.ReadHost();

    /// <summary>Scores every candidate of every example and reports accuracy and the task's loss.</summary>
    public EvalResult Evaluate(TaskData data, int batchSize = 16) => Evaluate(data, batchSize, null);

    /// <param name="progress">Called with the number of examples scored so far.</param>
    internal EvalResult Evaluate(TaskData data, int batchSize, Action<int>? progress)
    {
        Engine.Settle();
        return Evaluator.Evaluate(this, data, batchSize, progress);
    }

    /// <summary>
    /// Writes the current weights as a model folder (same graph and tokenizer); a PEFT model writes an adapter folder
    /// (its adapters and the base model's path and hashes), which <see cref="Open"/> reads back.
    /// </summary>
    public void Save(string folder)
    {
        var weights = ReadWeights();
        if (PeftState is { } p) AdapterFolder.Write(folder, p.BaseFolder, p.Identity, p.Options, weights);
        else Folder.SaveWithWeights(folder, weights);
    }

    /// <summary>
    /// Writes the current model as its parameters ask (default: a plain ONNX causal LM,
    /// LoRA merged): input_ids [+ attention_mask, position_ids] → logits with the weights as initializers and no
    /// scoring head; or an onnxruntime-genai model folder with a KV cache; and for LoRA, optionally the base plus an
    /// ONNX Runtime adapter file. Tokenizer files go with it.
    /// </summary>
    /// <param name="folder">The folder to write (it must not exist, except a LoRA adapter base of the same base model).</param>
    /// <param name="mergeLora">LoRA: fold (α/r)·B·A into the base weights (true) or keep the low-rank branch in the graph.</param>
    /// <param name="genAi">Write an onnxruntime-genai model folder (genai_config.json, a decoder with a KV cache, tokenizer.json) instead of a plain ONNX model.</param>
    /// <param name="loraAdapter">LoRA: write the base with the A/B tensors as optional inputs and this run as an ONNX Runtime .onnx_adapter file beside it.</param>
    /// <param name="adapterName">With <paramref name="loraAdapter"/>: the adapter file's name (default: the run folder's name).</param>
    public ExportReport Export(string folder, bool mergeLora = true, bool genAi = false, bool loraAdapter = false, string? adapterName = null) =>
        Export(folder, new ExportOptions
        {
            Format = genAi ? ExportFormat.GenAi : ExportFormat.Onnx,
            MergeLora = mergeLora && !loraAdapter,
            LoraAdapter = loraAdapter,
            AdapterName = adapterName,
        });

    internal ExportReport Export(string folder, ExportOptions options) => ModelExporter.Export(this, folder, options);

    /// <summary>The task's examples tokenized for this model (cached per data set).</summary>
    internal EncodedExample[] Encode(TaskData data)
    {
        if (_encoded.TryGetValue(data, out var cached)) return cached.Encoded;
        var encoded = data.Encode(Tokenizer, MaxLength);
        _encoded[data] = (MaxLength, encoded);
        return encoded;
    }

    /// <summary>A scoring session over the model's weights able to run at least rows × seq.</summary>
    internal ScoringSession Session(int rows, int seq) => Engine.Session(rows, seq);

    public void Dispose() => Engine.Dispose();
}

/// <summary>What a PEFT model was built from: the untouched base folder, its hashes, the scheme, and where it was opened.</summary>
internal sealed record PeftState(ModelFolder BaseFolder, BaseModelIdentity Identity, PeftOptions Options, string OpenedFrom);
