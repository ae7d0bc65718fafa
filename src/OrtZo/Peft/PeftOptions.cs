using System.Text.Json;
using System.Text.Json.Serialization;

using OrtZo.Onnx.Peft;

namespace OrtZo;

/// <summary>Which weights a run trains: all of them, or small adapter tensors added to a frozen base model.</summary>
public enum PeftScheme
{
    /// <summary>Every weight of the model is trainable; no rewrite.</summary>
    Full,
    /// <summary>Low-rank A, B beside chosen projections (y += (x·Aᵀ)·Bᵀ·α/r).</summary>
    Lora,
    /// <summary>Learned key/value prefixes in every attention layer.</summary>
    Prefix,
    /// <summary>Learned virtual-token embeddings in front of the input.</summary>
    Prompt,
}

/// <summary>How the frozen base weights of a PEFT model reach ONNX Runtime.</summary>
public enum FrozenBase
{
    /// <summary>As constant initializers: ORT may prepack them (faster forward, a packed copy in memory).</summary>
    Initializers,
    /// <summary>As graph inputs holding their values: ORT treats them as variables (no prepacking, no folding).</summary>
    Inputs,
}

/// <summary>
/// Parameter-efficient fine-tuning: the base model folder stays untouched, its graph is rewritten (in a cache) to
/// take a few adapter tensors as extra inputs, and only those are trained. Defaults follow ZO-Bench/MeZO
/// (LoRA r 8, α 16 on q_proj and v_proj; 5 prefix tokens initialised by real activations; 10 virtual tokens
/// initialised from the vocabulary).
/// </summary>
public sealed record PeftOptions
{
    public PeftScheme Scheme { get; init; } = PeftScheme.Lora;

    public int LoraRank { get; init; } = 8;

    public double LoraAlpha { get; init; } = 16;

    /// <summary>
    /// Projections to adapt, matched against the dot/slash-separated parts of each matrix's name and of its
    /// reader's node name (so "c_attn" finds torch's anonymous onnx::MatMul_* weight read by /h.0/attn/c_attn/MatMul).
    /// Null: q_proj and v_proj, or, where the model has neither, its fused attention input projection
    /// (c_attn, query_key_value, qkv_proj, Wqkv).
    /// </summary>
    public IReadOnlyList<string>? LoraTargets { get; init; }

    public int PrefixTokens { get; init; } = 5;

    public int PromptTokens { get; init; } = 10;

    /// <summary>
    /// Start prefixes and virtual tokens as N(0, σ²) noise (σ = <see cref="RandomInitStd"/>) instead of from the model:
    /// by default a prefix holds the keys and values the base model computes for random token ids (MeZO's
    /// prefix_init_by_real_act) and a virtual token copies the embedding row of a random token id (ZO-Bench's
    /// prompt_init_by_real_tokens).
    /// </summary>
    public bool RandomInit { get; init; }

    /// <summary>σ of the random prefix and prompt initialisations (MeZO's torch.randn and ZO-Bench's nn.Embedding default: 1).</summary>
    public double RandomInitStd { get; init; } = 1.0;

    /// <summary>Seed of the adapter initialisation (LoRA A, random token ids, random values).</summary>
    public ulong InitSeed { get; init; }

    public FrozenBase FrozenBase { get; init; } = FrozenBase.Initializers;

    /// <summary>Where rewritten graphs are kept; null: $ORTZO_CACHE, else $XDG_CACHE_HOME/ortzo, else ~/.cache/ortzo.</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Throws with the offending option's name when a value is out of range.</summary>
    public void Validate()
    {
        static void Require(bool ok, string name, string expected)
        {
            if (!ok) throw OptionErrors.Fail(OptionError.OutOfRange, name, expected);
        }
        Require(Enum.IsDefined(Scheme), nameof(Scheme), "full, lora, prefix or prompt");
        Require(Enum.IsDefined(FrozenBase), nameof(FrozenBase), "initializers or inputs");
        Require(LoraRank is >= 1 and <= 4096, nameof(LoraRank), "between 1 and 4096");
        Require(double.IsFinite(LoraAlpha) && LoraAlpha > 0, nameof(LoraAlpha), "a finite positive number");
        Require(LoraTargets is null || (LoraTargets.Count > 0 && LoraTargets.All(t => !string.IsNullOrWhiteSpace(t))),
            nameof(LoraTargets), "at least one non-empty projection name");
        Require(PrefixTokens is >= 1 and <= 4096, nameof(PrefixTokens), "between 1 and 4096");
        Require(PromptTokens is >= 1 and <= 4096, nameof(PromptTokens), "between 1 and 4096");
        Require(double.IsFinite(RandomInitStd) && RandomInitStd > 0, nameof(RandomInitStd), "a finite positive number");
    }

    /// <summary>
    /// Learning rate and ε used when none is given, chosen for small models like the shipped stories260k. MeZO's
    /// grid for OPT-13B is full 1e-6..1e-7 / ε 1e-3, LoRA 1e-4..5e-5 / ε 1e-2, prefix 1e-2..1e-3 / ε 1e-1; a sweep of
    /// that grid moved up by one to three decades (MeZO, 150 steps of 16 on the demo task, src/OrtZo/Peft/README.md)
    /// kept MeZO's ε per scheme and its order of learning rates (full &lt; LoRA &lt; prefix), each about 10–100× larger.
    /// Prompt tuning is not in MeZO's grid; its best ε on the sweep was 1e-2. Use MeZO's values for 13B-class models.
    /// </summary>
    public static (double LearningRate, double Epsilon) DefaultHyperparameters(PeftScheme scheme) => scheme switch
    {
        PeftScheme.Full => (1e-4, 1e-3),
        PeftScheme.Lora => (1e-3, 1e-2),
        PeftScheme.Prefix => (3e-2, 1e-1),
        PeftScheme.Prompt => (1e-1, 1e-2),
        _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, null),
    };

    /// <summary>
    /// The options that decide the rewritten graph and the adapters' initial values, as canonical JSON: two
    /// option sets with the same text make the same adapters (the cache location and the frozen-base mode do not count).
    /// </summary>
    internal string AdapterIdentity()
    {
        var canonical = new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["scheme"] = Scheme.ToString().ToLowerInvariant() };
        switch (Scheme)
        {
            case PeftScheme.Lora:
                canonical["lora_rank"] = LoraRank;
                canonical["lora_alpha"] = LoraAlpha;
                canonical["lora_targets"] = LoraTargets;
                canonical["init_seed"] = InitSeed;
                break;
            case PeftScheme.Prefix:
                canonical["prefix_tokens"] = PrefixTokens;
                canonical["prefix_init"] = RandomInit ? "Random" : "RealActivations";
                if (RandomInit) canonical["random_init_std"] = RandomInitStd;
                canonical["init_seed"] = InitSeed;
                break;
            case PeftScheme.Prompt:
                canonical["prompt_tokens"] = PromptTokens;
                canonical["prompt_init"] = RandomInit ? "Random" : "Vocabulary";
                if (RandomInit) canonical["random_init_std"] = RandomInitStd;
                canonical["init_seed"] = InitSeed;
                break;
        }
        return JsonSerializer.Serialize(canonical);
    }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
