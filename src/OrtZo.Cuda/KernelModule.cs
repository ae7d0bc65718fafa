using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace OrtZo.Cuda;

/// <summary>
/// The embedded PTX of Kernels/zo_passes.cu and the entry points the launchers call. The PTX is text compiled
/// for sm_80 by tools/gpu/build_ptx.sh; its first line carries the SHA-256 of the .cu it came from, so a test
/// (and the GPU check) can tell when it is stale.
/// </summary>
internal static partial class KernelModule
{
    public const string ResourceName = "OrtZo.Cuda.zo_passes.ptx";

    public const string WeightPass = "ortzo_weight_pass";
    public const string FillNormals = "ortzo_fill_normals";
    public const string FillUniformBits = "ortzo_fill_uniform_bits";

    /// <summary>Every kernel a C# launcher names; each must be a <c>.visible .entry</c> of the PTX.</summary>
    public static readonly IReadOnlyList<string> EntryPoints = [WeightPass, FillNormals, FillUniformBits];

    public static byte[] EmbeddedPtx()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the PTX resource {ResourceName} is missing from this build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Kernel names the PTX declares as visible entries.</summary>
    public static IReadOnlySet<string> DeclaredEntries(string ptx) =>
        EntryRegex().Matches(ptx).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The source hash stamped by build_ptx.sh, or null when the PTX carries none.</summary>
    public static string? SourceSha256(string ptx)
    {
        var m = ShaRegex().Match(ptx);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>The PTX's <c>.target</c> (sm_80 expected: portable forward, unlike sm_90a).</summary>
    public static string? Target(string ptx)
    {
        var m = TargetRegex().Match(ptx);
        return m.Success ? m.Groups[1].Value : null;
    }

    public static string Text(byte[] ptx) => Encoding.ASCII.GetString(ptx);

    [GeneratedRegex(@"^\s*\.visible\s+\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(", RegexOptions.Multiline)]
    private static partial Regex EntryRegex();

    [GeneratedRegex(@"^// ortzo-source-sha256: ([0-9a-f]{64})\s*$", RegexOptions.Multiline)]
    private static partial Regex ShaRegex();

    [GeneratedRegex(@"^\s*\.target\s+([A-Za-z0-9_]+)", RegexOptions.Multiline)]
    private static partial Regex TargetRegex();
}
