using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrtZo.Engine;
using OrtZo.Onnx.Model;
using OrtZo.Runtime;
using OrtZo.Session;

namespace OrtZo.Generation;

/// <summary>How to pick each next token.</summary>
/// <param name="Temperature">0 = greedy; otherwise logits are divided by it before sampling.</param>
/// <param name="TopP">Nucleus sampling: sample among the most likely tokens whose probabilities sum to at least this.</param>
internal sealed record SamplingOptions(int MaxNewTokens = 50, double Temperature = 0, double TopP = 1.0, ulong Seed = 0, bool StopAtEos = true);

/// <summary>
/// Text continuation through the model's own graph (its <c>logits</c> output), with the weights bound from the
/// same buffers the trainer updates, so what a tuned model writes can be read during or after training. By default
/// it decodes through the graph with a KV cache added (<see cref="KvCacheDecoder"/>); without one (prompt tuning,
/// whose virtual tokens a cache cannot carry, or on request) each new token recomputes the whole sequence through
/// the scoring graph. Both give the same tokens: the cached graph computes the same sums over the same positions.
/// </summary>
internal sealed unsafe class TextGenerator : IDisposable
{
    private readonly ZoModel _model;
    // the recompute path's session, opened only when there is no cache (a second session would hold its own
    // buffers for nothing)
    private readonly InferenceSession? _session;
    private readonly OrtIoBinding? _binding;
    private readonly List<OrtValue> _weights = new();
    private readonly string _logits;
    private readonly KvCacheDecoder? _cached;

    /// <param name="model">The model; its current weights are read at every call.</param>
    /// <param name="kvCache">Decode with a KV cache where the model allows one (false: recompute the sequence for every token).</param>
    public TextGenerator(ZoModel model, bool kvCache = true)
    {
        _model = model;
        if (kvCache && model.PeftState?.Options.Scheme != PeftScheme.Prompt)
        {
            try
            {
                _cached = new KvCacheDecoder(model);
            }
            catch (OrtZoException e) when (e.Kind == OrtZoErrorKind.Unsupported)
            {
                // a graph the rewrite cannot give a cache (OPT's positions derived from the mask) still generates,
                // only slower
                KvCacheUnavailable = e.Message;
            }
        }
        var manifest = model.Folder.Manifest;
        _logits = manifest.Outputs.Logits ?? throw ModelErrors.Fail(ModelFolderError.OutputMissing, model.Folder.ManifestPath, "outputs.logits", "this model folder keeps no logits output, so it cannot generate");
        if (_cached is not null) return;
        using var so = ExecutionProviders.CreateSessionOptions(model.Device, model.Threads, model.Engine.Weights.Backend.ComputeStream);
        _session = new InferenceSession(model.Folder.GraphPath, so);
        var backend = model.Engine.Weights.Backend;
        try
        {
            if (backend.Memory == WeightMemory.CudaDevice)
                WeightPlacement.Verify(_session, backend.Layout.Slots.Select(s => s.Spec.Name).ToHashSet(StringComparer.Ordinal),
                    WeightPlacement.CudaDevice(backend.DeviceIndex), $"CUDA device {backend.DeviceIndex}", model.Folder.GraphPath);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
        _binding = _session.CreateIoBinding();
        _weights.AddRange(WeightBinding.Bind(_binding, model.Engine.Weights.Backend));
    }

    /// <summary>Whether tokens come from the KV-cached graph.</summary>
    public bool UsesKvCache => _cached is not null;

    /// <summary>Why a cache was asked for and could not be built, or null.</summary>
    public string? KvCacheUnavailable { get; }

    /// <summary>Token ids of the continuation of <paramref name="promptIds"/> (the prompt not included).</summary>
    public List<int> Continue(IReadOnlyList<int> promptIds, SamplingOptions options)
    {
        _model.Engine.Settle();
        var manifest = _model.Folder.Manifest;
        var ids = promptIds.ToList();
        if (ids.Count == 0) throw OptionErrors.Fail(OptionError.Unusable, "--prompt", "has no tokens (and the tokenizer adds no BOS); give a non-empty prompt");
        var rng = new Random(unchecked((int)options.Seed ^ (int)(options.Seed >> 32)));
        var generated = new List<int>();
        if (_cached is not null)
        {
            _cached.Reset();
            var step = (IReadOnlyList<int>)ids;
            for (int n = 0; n < options.MaxNewTokens && ids.Count < manifest.MaxLength; n++)
            {
                int next = Pick(_cached.Step(step), options, rng);
                if (options.StopAtEos && next == _model.Tokenizer.EosId) break;
                ids.Add(next);
                generated.Add(next);
                step = [next];
            }
            return generated;
        }
        var session = _session!;
        var binding = _binding!;
        for (int n = 0; n < options.MaxNewTokens && ids.Count < manifest.MaxLength; n++)
        {
            int t = ids.Count;
            long[] shape = [1, t];
            using var input = OrtValue.CreateTensorValueFromMemory(ids.Select(i => (long)i).ToArray(), shape);
            using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, t).ToArray(), shape);
            using var labels = OrtValue.CreateTensorValueFromMemory(new float[t], shape);
            using var positions = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, t).Select(i => (long)i).ToArray(), shape);
            binding.BindInput(manifest.Inputs.InputIds, input);
            if (manifest.Inputs.AttentionMask is { } am) binding.BindInput(am, mask);
            if (manifest.Inputs.PositionIds is { } pi) binding.BindInput(pi, positions);
            binding.BindInput(manifest.Inputs.LabelMask, labels);
            binding.ClearBoundOutputs();
            binding.BindOutputToDevice(_logits, OrtMemoryInfo.DefaultInstance);
            using var runOptions = new RunOptions();
            using var outputs = session.RunWithBoundResults(runOptions, binding);
            var logits = outputs.First();
            var last = KvCacheDecoder.LastRow(logits, t);
            int next = Pick(last, options, rng);
            if (options.StopAtEos && next == _model.Tokenizer.EosId) break;
            ids.Add(next);
            generated.Add(next);
        }
        return generated;
    }

    internal static int Pick(float[] logits, SamplingOptions o, Random rng)
    {
        if (o.Temperature <= 0)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        double max = logits.Max();
        var probs = logits.Select((l, i) => (Id: i, P: Math.Exp((l - max) / o.Temperature))).ToArray();
        double total = probs.Sum(p => p.P);
        var ranked = probs.Select(p => (p.Id, P: p.P / total)).OrderByDescending(p => p.P).ThenBy(p => p.Id).ToList();
        var nucleus = new List<(int Id, double P)>();
        double mass = 0;
        foreach (var p in ranked)
        {
            nucleus.Add(p);
            mass += p.P;
            if (mass >= o.TopP) break;
        }
        double u = rng.NextDouble() * mass;
        foreach (var p in nucleus)
        {
            u -= p.P;
            if (u <= 0) return p.Id;
        }
        return nucleus[^1].Id;
    }

    public void Dispose()
    {
        _cached?.Dispose();
        foreach (var w in _weights) w.Dispose();
        _binding?.Dispose();
        _session?.Dispose();
    }
}
