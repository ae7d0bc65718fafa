namespace OrtZo.Onnx.Model;

/// <summary>
/// Names the model family: config.json's <c>model_type</c> when present, else the tensor names' conventions
/// (transformer.h.* → gpt2; model.decoder.layers + embed_positions → opt; model.layers.*.self_attn.q_proj →
/// qwen2 when q_proj has a bias, llama otherwise — Mistral's names equal Llama's, so only config.json tells them apart).
/// </summary>
internal static class ArchitectureDetection
{
    public static readonly IReadOnlyList<string> Known = ["gpt2", "llama", "opt", "mistral", "qwen2"];

    public static string Detect(SourceConfigFiles config, IReadOnlyCollection<string> tensorNames)
    {
        string? modelType = config.String("config.json", "model_type")?.ToLowerInvariant();
        if (modelType is not null) return Known.Contains(modelType) ? modelType : "unknown";
        bool Any(string fragment) => tensorNames.Any(n => n.Contains(fragment, StringComparison.Ordinal));
        if (Any("transformer.h.") || Any("transformer.wte")) return "gpt2";
        if (Any("model.decoder.layers.") && Any("embed_positions")) return "opt";
        if (Any("model.layers.") && Any("self_attn.q_proj"))
            return Any("self_attn.q_proj.bias") ? "qwen2" : "llama";
        return "unknown";
    }
}
