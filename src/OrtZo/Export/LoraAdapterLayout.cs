using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OrtZo.Onnx.Model;

namespace OrtZo.Export;

/// <summary>One LoRA input of an adapter-ready base graph: what every adapter file's parameter of that name must match.</summary>
internal sealed record LoraAdapterTensor(string Name, IReadOnlyList<long> Shape, string Dtype);

/// <summary>
/// What decides whether a LoRA run's adapter fits an adapter-ready base export, recorded under "lora_adapter" in
/// its export.json: the base model by hash, the rank and the exact A/B inputs. Two runs with equal layouts get
/// byte-identical base graphs, so the second only adds its adapter file. α is not part of it: each adapter file
/// carries (α/r)·B and the graph's branch scale is 1 (<see cref="Version"/> 1), so runs that differ in α share a
/// base and still each compute their own W + (α/r)·B·A. Targets are kept for the reader; the tensors already say
/// which projections are adapted, and two spellings of the same targets (defaults or named) must not conflict.
/// </summary>
internal sealed record LoraAdapterLayout
{
    /// <summary>1: graph branch scale 1, α/r folded into each adapter's B.</summary>
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    public required string BaseGraphSha256 { get; init; }
    public required string BaseWeightsSha256 { get; init; }
    public required int LoraRank { get; init; }
    public IReadOnlyList<string>? LoraTargets { get; init; }
    public required IReadOnlyList<LoraAdapterTensor> Tensors { get; init; }

    /// <summary>
    /// The adapter file's model_version: 31 bits of SHA-256 over the fields compared, so an adapter file alone
    /// names the base layout it was written for (ORT itself does not check it).
    /// </summary>
    public int ModelVersion
    {
        get
        {
            var text = new StringBuilder($"{Version}|{BaseGraphSha256}|{BaseWeightsSha256}|{LoraRank}");
            foreach (var t in Tensors) text.Append($"|{t.Name}:{t.Dtype}[{string.Join(",", t.Shape)}]");
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
            return (int)(BitConverter.ToUInt32(hash, 0) & int.MaxValue);
        }
    }

    /// <summary>The first field (as export.json spells it) where <paramref name="recorded"/> and this layout disagree, with both values; null when they agree.</summary>
    public (string Field, string Recorded, string Ours)? FirstMismatch(LoraAdapterLayout recorded)
    {
        if (recorded.Version != Version) return ("lora_adapter.version", recorded.Version.ToString(), Version.ToString());
        if (recorded.BaseGraphSha256 != BaseGraphSha256) return ("lora_adapter.base_graph_sha256", recorded.BaseGraphSha256, BaseGraphSha256);
        if (recorded.BaseWeightsSha256 != BaseWeightsSha256) return ("lora_adapter.base_weights_sha256", recorded.BaseWeightsSha256, BaseWeightsSha256);
        if (recorded.LoraRank != LoraRank) return ("lora_adapter.lora_rank", recorded.LoraRank.ToString(), LoraRank.ToString());
        var theirs = recorded.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var t in Tensors)
        {
            if (!theirs.Remove(t.Name, out var other)) return ("lora_adapter.tensors", $"no input '{t.Name}'", $"input '{t.Name}'");
            if (other.Dtype != t.Dtype) return ($"lora_adapter.tensors['{t.Name}'].dtype", other.Dtype, t.Dtype);
            if (!other.Shape.SequenceEqual(t.Shape)) return ($"lora_adapter.tensors['{t.Name}'].shape", Shape(other.Shape), Shape(t.Shape));
        }
        if (theirs.Count > 0) return ("lora_adapter.tensors", $"input '{theirs.Keys.First()}'", $"no input '{theirs.Keys.First()}'");
        return null;
    }

    /// <summary>
    /// The layout export.json at <paramref name="path"/> records; null when the file has no "lora_adapter" (an
    /// export made without --lora-adapter). Malformed JSON is refused naming the file and the JSON path.
    /// </summary>
    public static LoraAdapterLayout? Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty(Key, out var element)
                || element.ValueKind == JsonValueKind.Null)
                return null;
            return element.Deserialize<LoraAdapterLayout>(ModelManifest.Json)
                ?? throw new JsonException("is null");
        }
        catch (JsonException e)
        {
            throw Onnx.OnnxErrors.Fail(Onnx.OnnxError.OutputExists, path, e.Path is { Length: > 0 } p ? $"{Key}{p.TrimStart('$')}" : Key,
                $"cannot be read as an adapter-ready base export ({e.Message}); an adapter is only added to a folder `ortzo export --lora-adapter` wrote");
        }
    }

    public const string Key = "lora_adapter";

    private static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";
}
