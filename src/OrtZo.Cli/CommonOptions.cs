using System.CommandLine;
using OrtZo.Runtime;

namespace OrtZo.Cli;

internal static class CommonOptions
{
    public static readonly Option<string?> OrtLibrary = new("--ort-lib")
    {
        Description = $"Native libonnxruntime.so to load instead of the packaged one (also: {Runtime.OrtLibrary.EnvironmentVariable})",
        Recursive = true,
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu | cuda | cuda:N: where the weights live and the forwards run (cuda needs the GPU build, -p:OrtZoGpu=true, and a CUDA driver)",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<int?> Threads() => new("--threads") { Description = "CPU threads for ORT and the weight kernels (default: all cores)" };

    /// <summary>Applies the options every command shares; call first in each action.</summary>
    public static void Apply(ParseResult result) => Runtime.OrtLibrary.Initialize(result.GetValue(OrtLibrary));

    public static ZoDevice ParseDevice(string text) => ZoDevice.Parse(text);

    /// <summary>The path, when it names an existing file; otherwise the usage error naming <paramref name="option"/>.</summary>
    public static string ExistingFile(string path, string option) =>
        File.Exists(path) ? path : throw new OrtZoException(OrtZoErrorKind.NotFound, OptionError.UnknownValue, $"{Path.GetFullPath(path)}: no such file (given to {option})", Path.GetFullPath(path), option);
}
