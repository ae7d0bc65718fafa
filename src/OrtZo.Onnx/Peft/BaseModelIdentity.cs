using System.Security.Cryptography;
using OrtZo.Onnx.Model;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// What a PEFT run's adapters are only meaningful with: the exact base graph and base weights, by SHA-256. Checkpoints
/// and adapter folders record it, so resuming or loading adapters against other base weights is refused.
/// </summary>
internal sealed record BaseModelIdentity(string GraphSha256, string WeightsSha256)
{
    public static BaseModelIdentity Of(ModelFolder folder) => new(Sha256(folder.GraphPath), Sha256(folder.WeightsPath));

    /// <summary>One string for comparisons and run.json.</summary>
    public override string ToString() => $"graph:{GraphSha256[..16]} weights:{WeightsSha256[..16]}";

    private static string Sha256(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
