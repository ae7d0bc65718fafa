using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace OrtZo.Runtime;

/// <summary>
/// Chooses which native ONNX Runtime library the process loads. By default the one shipped with the
/// managed package; <c>ORTZO_ORT_LIB</c> (or <see cref="Initialize"/>) names another <c>libonnxruntime.so</c>,
/// e.g. a build of your own with other execution providers. Must run before any other ORT call: the managed
/// binding resolves its native library once, on first use.
/// </summary>
internal static class OrtLibrary
{
    public const string EnvironmentVariable = "ORTZO_ORT_LIB";

    private static readonly Lock Gate = new();
    private static bool _initialized;
    private static string? _path;

    /// <summary>The native library path in use, or null for the package's own.</summary>
    public static string? NativeLibraryPath => _path;

    /// <param name="nativeLibraryPath">A libonnxruntime.so to load; null reads <c>ORTZO_ORT_LIB</c>.</param>
    public static void Initialize(string? nativeLibraryPath = null)
    {
        lock (Gate)
        {
            string? requested = nativeLibraryPath ?? NullIfEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable));
            if (_initialized)
            {
                if (requested is not null && !string.Equals(requested, _path, StringComparison.Ordinal))
                    throw OptionErrors.Fail(OptionError.Conflict, "--ort-lib",
                        $"{requested} cannot be loaded: this process already initialised ONNX Runtime with {_path ?? "the packaged native library"}");
                return;
            }
            if (requested is not null)
            {
                string full = Path.GetFullPath(requested);
                if (!File.Exists(full))
                    throw new OrtZoException(OrtZoErrorKind.NotFound, OptionError.UnknownValue, $"{EnvironmentVariable} / --ort-lib: native ONNX Runtime library not found: {full}", full, "--ort-lib");
                // ORT's managed binding installs its own resolver on first use; switch it off and put ours in its place.
                OrtEnv.DisableDllImportResolver = true;
                IntPtr handle = NativeLibrary.Load(full);
                NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, (name, _, _) =>
                    name is "onnxruntime" or "libonnxruntime" or "libonnxruntime.so" ? handle : IntPtr.Zero);
                _path = full;
            }
            _initialized = true;
        }
    }

    /// <summary>Version string of the native library actually loaded.</summary>
    public static string NativeVersion
    {
        get
        {
            Initialize();
            return OrtEnv.Instance().GetVersionString();
        }
    }

    /// <summary>Version of the managed binding assembly compiled in.</summary>
    public static string ManagedVersion =>
        typeof(OrtEnv).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(OrtEnv).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
