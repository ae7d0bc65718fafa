using System.Text.Json;

namespace OrtZo.Onnx.Model;

/// <summary>
/// The Hugging Face JSON files that may sit beside an export (config.json, generation_config.json,
/// tokenizer_config.json, special_tokens_map.json, vocab.json, tokenizer.json) and ORT GenAI's genai_config.json.
/// Each is optional; a file that exists but is not valid JSON is an error naming it, because silently ignoring it
/// would import wrong ids. A config.json value that is absent is read from genai_config.json's "model" object
/// (model_type ← type, max_position_embeddings ← context_length, the token ids and vocab_size by their own names).
/// </summary>
internal sealed class SourceConfigFiles
{
    private readonly Dictionary<string, JsonElement> _files = new(StringComparer.Ordinal);

    public SourceConfigFiles(string directory)
    {
        Directory = directory;
        foreach (var name in new[] { "config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "tokenizer.json", GenAiConfig })
        {
            string path = Path.Combine(directory, name);
            if (!File.Exists(path)) continue;
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
                _files[name] = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw Onnx.OnnxErrors.Fail(Onnx.OnnxError.Unreadable, path, null, $"not valid JSON: {e.Message}", e);
            }
        }
    }

    public const string GenAiConfig = "genai_config.json";

    public string Directory { get; }

    /// <summary>genai_config.json's model.decoder.filename: the graph a GenAI folder runs.</summary>
    public string? GenAiDecoderFile =>
        GenAiModel() is { } model && model.TryGetProperty("decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object
        && decoder.TryGetProperty("filename", out var file) && file.ValueKind == JsonValueKind.String ? file.GetString() : null;

    private JsonElement? GenAiModel() =>
        _files.TryGetValue(GenAiConfig, out var root) && root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object ? model : null;

    /// <summary>Where a config.json property is looked for: config.json itself, then its genai_config.json counterpart.</summary>
    private IEnumerable<(JsonElement Root, string Property)> Sources(string file, string property)
    {
        if (_files.TryGetValue(file, out var root) && root.ValueKind == JsonValueKind.Object) yield return (root, property);
        if (file == "config.json" && GenAiModel() is { } model)
            yield return (model, property switch { "model_type" => "type", "max_position_embeddings" => "context_length", _ => property });
    }

    /// <summary>The parsed root of one of the files, or null when it is absent.</summary>
    public JsonElement? Element(string file) =>
        _files.TryGetValue(file, out var root) && root.ValueKind == JsonValueKind.Object ? root : null;

    public string? String(string file, string property)
    {
        foreach (var (root, name) in Sources(file, property))
            if (root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String) return v.GetString();
        return null;
    }

    /// <summary>An integer property; for a list (generation configs may give several EOS ids) the first entry.</summary>
    public int? Int(string file, string property)
    {
        foreach (var (root, name) in Sources(file, property))
        {
            if (!root.TryGetProperty(name, out var v)) continue;
            if (v.ValueKind == JsonValueKind.Array) v = v.EnumerateArray().FirstOrDefault();
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
        }
        return null;
    }

    public bool? Bool(string file, string property) =>
        _files.TryGetValue(file, out var root) && root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty(property, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A special token's text, written either as a string or as {"content": "..."}.</summary>
    public string? TokenText(string file, string property)
    {
        if (!_files.TryGetValue(file, out var root) || root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(property, out var v))
            return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) return c.GetString();
        return null;
    }

    /// <summary>A token's id from vocab.json, or from tokenizer.json's added_tokens or model.vocab.</summary>
    public int? TokenId(string text)
    {
        if (_files.TryGetValue("vocab.json", out var vocab) && vocab.ValueKind == JsonValueKind.Object
            && vocab.TryGetProperty(text, out var id) && id.TryGetInt32(out int found))
            return found;
        if (!_files.TryGetValue("tokenizer.json", out var tokenizer) || tokenizer.ValueKind != JsonValueKind.Object) return null;
        if (tokenizer.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var t in added.EnumerateArray())
            {
                if (t.TryGetProperty("content", out var c) && c.GetString() == text && t.TryGetProperty("id", out var i) && i.TryGetInt32(out int value))
                    return value;
            }
        }
        if (tokenizer.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
            && model.TryGetProperty("vocab", out var modelVocab) && modelVocab.ValueKind == JsonValueKind.Object
            && modelVocab.TryGetProperty(text, out var mid) && mid.TryGetInt32(out int modelId))
            return modelId;
        return null;
    }
}
