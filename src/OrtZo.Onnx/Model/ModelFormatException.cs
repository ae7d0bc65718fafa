namespace OrtZo.Onnx.Model;

/// <summary>A model folder, manifest or graph that is not what OrtZo expects; the message names the file and field.</summary>
public sealed class ModelFormatException : Exception
{
    public ModelFormatException(string file, string? field, string message, Exception? inner = null)
        : base($"{file}: {(field is null ? "" : field + ": ")}{message}", inner)
    {
        File = file;
        Field = field;
    }

    public string File { get; }
    public string? Field { get; }
}
