using System.Text.Json;
using System.Text.Json.Nodes;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.WeightStore;

namespace OrtZo.Export;

/// <summary>
/// genai_config.json for an exported decoder: what onnxruntime-genai needs to feed the graph (input and cache
/// names, head counts and sizes for the empty first cache, token ids, vocabulary) and its search defaults (greedy,
/// up to the context length).
/// </summary>
internal static class GenAiConfig
{
    public const string FileName = "genai_config.json";

    /// <summary>
    /// GenAI's generic decoder-only type. onnxruntime-genai runs every LLM type except gpt2 and lfm2 through one
    /// DecoderOnly model; the type string otherwise only picks Phi-3's long-rope rewind, the fallback tool-call
    /// token ids of Qwen and Phi-3, and telemetry. "decoder" selects none of them.
    /// </summary>
    public const string GenericType = "decoder";

    /// <summary>
    /// Architectures ortzo detects whose GenAI type of the same name is that DecoderOnly model. gpt2 is left out on
    /// purpose: GenAI's gpt2 type expects one combined past_%d tensor per layer, not the separate key and value the
    /// rewrite writes.
    /// </summary>
    private static readonly string[] SameName = ["llama", "mistral", "qwen2"];

    /// <summary>The model.type for a manifest's architecture: its own name where GenAI has it, else <see cref="GenericType"/>
    /// (opt, gpt2, unknown: the exported graph is a plain decoder whatever the family, so nothing family-specific is needed).</summary>
    public static string ModelType(string architecture) =>
        SameName.Contains(architecture, StringComparer.Ordinal) ? architecture : GenericType;

    /// <summary>
    /// The model.type for a cache layout: a restored GPT-2 cache of one combined [2, B, H, S, Dh] tensor per layer
    /// needs GenAI's gpt2 type (the only one that feeds past_%d); everything else as <see cref="ModelType(string)"/>.
    /// </summary>
    public static string ModelType(string architecture, KvCacheLayout layout) =>
        layout.Restored && layout.Tensors[0].EmptyShape.Length == 5 ? "gpt2" : ModelType(architecture);

    public static void Write(string path, string graphFile, ModelManifest manifest, KvCacheLayout layout, string modelType)
    {
        var tokenizer = manifest.Tokenizer;
        var inputs = new JsonObject { ["input_ids"] = manifest.Inputs.InputIds };
        if (layout.HasAttentionMask) inputs["attention_mask"] = manifest.Inputs.AttentionMask;
        if (layout.HasPositionIds) inputs["position_ids"] = manifest.Inputs.PositionIds;
        var outputs = new JsonObject { ["logits"] = manifest.Outputs.Logits };
        if (layout.Tensors.Count == layout.Layers)
        {
            inputs["past_names"] = Template(layout, t => t.Past, 1);
            outputs["present_names"] = Template(layout, t => t.Present, 1);
        }
        else
        {
            inputs["past_key_names"] = Template(layout, t => t.Past, 2);
            inputs["past_value_names"] = Template(layout, t => t.Past, 2, 1);
            outputs["present_key_names"] = Template(layout, t => t.Present, 2);
            outputs["present_value_names"] = Template(layout, t => t.Present, 2, 1);
        }

        var model = new JsonObject { ["type"] = modelType };
        if (tokenizer.BosId is int bos) model["bos_token_id"] = bos;
        // GenAI stops at eos_token_id and, without one, at pad_token_id (default 0): leave out what the tokenizer
        // does not define rather than invent an id; pad falls back to EOS as transformers' generate does.
        if (tokenizer.EosId is int eos) model["eos_token_id"] = eos;
        if ((tokenizer.PadId ?? tokenizer.EosId) is int pad) model["pad_token_id"] = pad;
        model["vocab_size"] = manifest.VocabSize;
        model["context_length"] = manifest.MaxLength;
        var decoder = new JsonObject
        {
            ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = new JsonArray() },
            ["filename"] = graphFile,
            ["head_size"] = layout.HeadDim,
        };
        // A restored graph with fused attention does not show its query heads to a probe; GenAI sizes the cache
        // from the key/value heads and the head size, and these two are optional for it.
        if (layout.Heads > 0)
        {
            decoder["hidden_size"] = layout.Heads * layout.HeadDim;
            decoder["num_attention_heads"] = layout.Heads;
        }
        decoder["num_key_value_heads"] = layout.KvHeads;
        decoder["num_hidden_layers"] = layout.Layers;
        decoder["inputs"] = inputs;
        decoder["outputs"] = outputs;
        model["decoder"] = decoder;
        var config = new JsonObject
        {
            ["model"] = model,
            ["search"] = new JsonObject
            {
                ["diversity_penalty"] = 0.0,
                ["do_sample"] = false,
                ["early_stopping"] = true,
                ["length_penalty"] = 1.0,
                ["max_length"] = manifest.MaxLength,
                ["min_length"] = 0,
                ["no_repeat_ngram_size"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                // The rewrite's present is past concatenated with the new keys, a fresh tensor each step; sharing one
                // max_length buffer between them needs GroupQueryAttention's in-place cache.
                ["past_present_share_buffer"] = false,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
            },
        };
        AtomicFile.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// The per-layer template of the cache's names (the rewrite's past_key_values.N.key, or a restored cache's own):
    /// layer 0's name with the layer index as %d, the index found where layer 0's and layer 1's names differ
    /// (<paramref name="perLayer"/> tensors per layer, the one at <paramref name="offset"/> within each), checked
    /// against every layer.
    /// </summary>
    private static string Template(KvCacheLayout layout, Func<CacheTensor, string> name, int perLayer, int offset = 0)
    {
        string first = name(layout.Tensors[offset]);
        string template;
        if (layout.Layers == 1)
        {
            var digit = System.Text.RegularExpressions.Regex.Match(first, @"\d+");
            template = digit.Success ? first.Remove(digit.Index, digit.Length).Insert(digit.Index, "%d") : first;
        }
        else
        {
            string second = name(layout.Tensors[perLayer + offset]);
            int at = 0;
            while (at < first.Length && at < second.Length && first[at] == second[at]) at++;
            while (at > 0 && char.IsDigit(first[at - 1])) at--;
            int end = at;
            while (end < first.Length && char.IsDigit(first[end])) end++;
            template = first.Remove(at, end - at).Insert(at, "%d");
        }
        for (int layer = 0; layer < layout.Layers; layer++)
        {
            string actual = name(layout.Tensors[layer * perLayer + offset]);
            if (actual != template.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
                throw new OrtZoException(OrtZoErrorKind.Unsupported, Onnx.OnnxError.Unsupported,
                    $"cache tensor '{actual}' does not follow the per-layer name pattern '{template}' that genai_config.json can express");
        }
        return template;
    }
}
