using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrtZo.Onnx.Model;

/// <summary>
/// <c>ortzo.json</c>: the facts about a model folder that the engine needs and cannot read cheaply
/// from the graph. Written by <c>ortzo import</c>; the format is documented in README.md
/// ("Model folder format").
/// </summary>
internal sealed record ModelManifest
{
    public const string FileName = "ortzo.json";
    public const string FormatName = "ortzo-model";
    public const int CurrentVersion = 1;

    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Architecture family as detected at import ("gpt2", "llama", "opt", ... or "unknown").</summary>
    public string Architecture { get; init; } = "unknown";

    /// <summary>The graph file, relative to the folder.</summary>
    public string Graph { get; init; } = "model.onnx";

    /// <summary>The safetensors file holding every weight input, relative to the folder.</summary>
    public string Weights { get; init; } = "weights.safetensors";

    public required GraphInputs Inputs { get; init; }
    public required GraphOutputs Outputs { get; init; }

    /// <summary>Weight inputs in canonical order: the slab layout and the noise counters follow this order.</summary>
    public required IReadOnlyList<WeightInput> WeightInputs { get; init; }

    /// <summary>Parameter blocks in order (e.g. "embeddings", "layers.0", ..., "head"); every weight names one.</summary>
    public required IReadOnlyList<string> Groups { get; init; }

    public required TokenizerInfo Tokenizer { get; init; }

    /// <summary>Longest sequence the graph accepts (positions table size or the export's limit).</summary>
    public int MaxLength { get; init; }

    public int VocabSize { get; init; }

    /// <summary>Where the model came from (importer, source file, checksums); informational.</summary>
    public IReadOnlyDictionary<string, string>? Source { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };
}

/// <summary>Names of the graph inputs the engine feeds (besides the weights).</summary>
internal sealed record GraphInputs
{
    /// <summary>int64 [batch, seq] token ids.</summary>
    public string InputIds { get; init; } = "input_ids";

    /// <summary>int64 [batch, seq] 1 for real tokens, 0 for padding; null when the graph takes none.</summary>
    public string? AttentionMask { get; init; }

    /// <summary>int64 [batch, seq] positions; null when the graph derives them itself.</summary>
    public string? PositionIds { get; init; }

    /// <summary>float32 [batch, seq]: 1 where token t is a scored target (predicted from position t-1).</summary>
    public string LabelMask { get; init; } = "label_mask";
}

/// <summary>Names of the graph outputs.</summary>
internal sealed record GraphOutputs
{
    /// <summary>float32 [batch]: sum over scored tokens of log p(token | prefix).</summary>
    public string SumLogprob { get; init; } = "sum_logprob";

    /// <summary>float32 [batch]: that sum divided by the number of scored tokens (0 when there are none).</summary>
    public string MeanLogprob { get; init; } = "mean_logprob";

    /// <summary>[batch, seq, vocab] logits of the original graph, kept for generation and export; null if dropped.</summary>
    public string? Logits { get; init; }
}

/// <summary>One trainable weight fed as a graph input.</summary>
internal sealed record WeightInput
{
    /// <summary>Graph input name; also the tensor's key in the weights file.</summary>
    public required string Name { get; init; }

    /// <summary>"f32", "f16" or "bf16".</summary>
    public required string Dtype { get; init; }

    public required IReadOnlyList<long> Shape { get; init; }

    public required WeightRole Role { get; init; }

    /// <summary>Block this weight belongs to; one of <see cref="ModelManifest.Groups"/>.</summary>
    public required string Group { get; init; }

    /// <summary>Names the original graph used for this same tensor (tied weights collapsed into one input).</summary>
    public IReadOnlyList<string>? Aliases { get; init; }

    /// <summary>The name the tensor had in the original model, when the importer renamed it.</summary>
    public string? SourceName { get; init; }
}

/// <summary>
/// What a weight is, declared at import so that rules such as "no weight decay on norms and biases" or
/// "Sparse-MeZO masks 2-D matrices" never depend on substrings of tensor names.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<WeightRole>))]
internal enum WeightRole
{
    /// <summary>A 2-D projection inside a block (attention or MLP).</summary>
    Matrix,
    /// <summary>Token embedding table (also the output head when tied).</summary>
    Embedding,
    /// <summary>Learned position table.</summary>
    PositionEmbedding,
    /// <summary>Untied output projection to the vocabulary.</summary>
    LmHead,
    /// <summary>LayerNorm / RMSNorm scale or shift.</summary>
    Norm,
    /// <summary>Additive bias of a projection.</summary>
    Bias,
    /// <summary>Anything else (e.g. a learned scalar).</summary>
    Other,
    /// <summary>
    /// A parameter-efficient adapter (LoRA A/B, prefix keys/values, virtual-token embeddings) added by a PEFT
    /// rewrite. A model that has adapters trains only them: its base weights are frozen.
    /// </summary>
    Adapter,
}

/// <summary>How to build the tokenizer, chosen by the importer from the files present.</summary>
internal sealed record TokenizerInfo
{
    /// <summary>"byte-bpe" (vocab.json + merges.txt), "sentencepiece" (tokenizer.model), "tokenizer-json" (tokenizer.json) or "none".</summary>
    public required string Kind { get; init; }

    /// <summary>Tokenizer files, relative to the folder.</summary>
    public required IReadOnlyList<string> Files { get; init; }

    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public int? PadId { get; init; }
    public int? UnkId { get; init; }

    /// <summary>Whether encoding a text starts with BOS (Llama: yes; GPT-2/OPT-style: no unless stated).</summary>
    public bool AddBos { get; init; }

    /// <summary>Whether encoding a text ends with EOS.</summary>
    public bool AddEos { get; init; }

    /// <summary>Byte-level BPE: prepend a space to the first word (RoBERTa style).</summary>
    public bool AddPrefixSpace { get; init; }
}
