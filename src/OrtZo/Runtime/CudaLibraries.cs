using System.Runtime.InteropServices;

namespace OrtZo.Runtime;

/// <summary>
/// The CUDA libraries ORT's CUDA execution provider links (libonnxruntime_providers_cuda.so has no RUNPATH) and opens
/// (cuDNN), loaded by full path before the provider is appended: once a library is loaded, the loader satisfies the
/// provider's lookups by soname with it. They come from the folder <c>ORTZO_CUDA_LIBS</c> names, or from the layouts
/// pip's NVIDIA wheels leave under a Python environment (<c>site-packages/nvidia/*/lib</c>, <c>nvidia/cu13/lib</c>).
/// </summary>
internal static class CudaLibraries
{
    public const string EnvironmentVariable = "ORTZO_CUDA_LIBS";

    /// <summary>In the order onnxruntime's own preload_dlls loads them: each may depend on the ones before it.</summary>
    public static readonly IReadOnlyList<string> Required = ["libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudnn.so.9"];

    private static readonly Lock Gate = new();
    private static IReadOnlyList<string>? _loaded;

    /// <summary>Loads every required library once per process; the message of a failure names the one not found.</summary>
    public static IReadOnlyList<string> Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            var folders = SearchFolders(Environment.GetEnvironmentVariable(EnvironmentVariable)).ToList();
            var loaded = new List<string>();
            foreach (string name in Required)
            {
                string path = Find(name, folders)
                    ?? throw OptionErrors.Device(DeviceError.LibraryMissing,
                        $"device cuda: {name} not found (looked in {(folders.Count == 0 ? "no folder" : string.Join(", ", folders))}); " +
                        $"name the folder holding the CUDA 13 libraries with {EnvironmentVariable}");
                LoadFile(name, path);
                loaded.Add(path);
                // cuDNN 9's libcudnn.so.9 is a front that dlopens its sub-libraries by soname: load them from beside it
                // too, so they are found whether or not the wheel's files carry a RUNPATH. A part that does not load
                // here (one needing NVRTC, say) is left to the front, which treats its parts as optional.
                if (name == CudnnFront)
                    foreach (string part in CudnnParts(Path.GetDirectoryName(path)!))
                        if (NativeLibrary.TryLoad(part, out _)) loaded.Add(part);
            }
            _loaded = loaded;
            return loaded;
        }
    }

    private const string CudnnFront = "libcudnn.so.9";

    /// <summary>cuDNN 9's sub-libraries beside its front, graph first (the others link it), then the rest by name.</summary>
    internal static IEnumerable<string> CudnnParts(string folder) =>
        Directory.EnumerateFiles(folder, "libcudnn_*.so.9")
            .OrderBy(f => Path.GetFileName(f) == "libcudnn_graph.so.9" ? 0 : 1)
            .ThenBy(f => f, StringComparer.Ordinal);

    /// <summary>A file that is there but does not load (a missing dependency, a driver too old for it) is named with the loader's reason.</summary>
    private static void LoadFile(string name, string path)
    {
        try
        {
            NativeLibrary.Load(path);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw OptionErrors.Device(DeviceError.LibraryMissing,
                $"device cuda: {name} was found at {path} but does not load: {e.Message}");
        }
    }

    /// <summary>The file for <paramref name="soname"/> in the first folder that has it (or a versioned variant, libx.so.13.1.2).</summary>
    internal static string? Find(string soname, IEnumerable<string> folders)
    {
        foreach (string folder in folders)
        {
            string exact = Path.Combine(folder, soname);
            if (File.Exists(exact)) return exact;
            var versioned = Directory.EnumerateFiles(folder, soname + ".*").Order(StringComparer.Ordinal).FirstOrDefault();
            if (versioned is not null) return versioned;
        }
        return null;
    }

    /// <summary>
    /// The named folder first; then every nvidia/*/lib under the Python environments of PATH and VIRTUAL_ENV; then the
    /// CUDA toolkit's own lib64 (cudart, cuBLAS, cuRAND; cuDNN is not part of the toolkit).
    /// </summary>
    internal static IEnumerable<string> SearchFolders(string? named)
    {
        if (!string.IsNullOrWhiteSpace(named))
            foreach (string folder in named.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                if (Directory.Exists(folder)) yield return Path.GetFullPath(folder);
        var roots = new List<string>();
        if (Environment.GetEnvironmentVariable("VIRTUAL_ENV") is { Length: > 0 } venv) roots.Add(venv);
        foreach (string bin in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (Path.GetFileName(bin.TrimEnd('/')) == "bin") roots.Add(Path.GetDirectoryName(bin.TrimEnd('/'))!);
        foreach (string root in roots.Distinct(StringComparer.Ordinal))
        {
            string lib = Path.Combine(root, "lib");
            if (!Directory.Exists(lib)) continue;
            foreach (string python in Directory.EnumerateDirectories(lib, "python3*").Order(StringComparer.Ordinal))
            {
                string nvidia = Path.Combine(python, "site-packages", "nvidia");
                if (!Directory.Exists(nvidia)) continue;
                foreach (string package in Directory.EnumerateDirectories(nvidia).Order(StringComparer.Ordinal))
                {
                    string packageLib = Path.Combine(package, "lib");
                    if (Directory.Exists(packageLib)) yield return packageLib;
                }
            }
        }
        foreach (string? toolkit in new[] { Environment.GetEnvironmentVariable("CUDA_HOME"), "/usr/local/cuda" })
            if (!string.IsNullOrEmpty(toolkit) && Directory.Exists(Path.Combine(toolkit, "lib64"))) yield return Path.Combine(toolkit, "lib64");
    }
}
