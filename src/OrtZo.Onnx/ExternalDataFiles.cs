using System.Globalization;
using System.IO.MemoryMappedFiles;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// The external data files of one model, memory-mapped read-only on first use, so a model of any size is read
/// without copying its weights into managed memory. A tensor with <c>data_location = EXTERNAL</c> names its
/// bytes by <c>location</c> (relative to the model's directory), <c>offset</c> and <c>length</c>.
/// </summary>
internal sealed unsafe class ExternalDataFiles : IDisposable
{
    private readonly string _modelPath;
    private readonly string _directory;
    private readonly Dictionary<string, MappedFile> _mapped = new(StringComparer.Ordinal);
    private bool _disposed;

    public ExternalDataFiles(string modelPath)
    {
        _modelPath = Path.GetFullPath(modelPath);
        _directory = Path.GetDirectoryName(_modelPath)!;
    }

    /// <summary>Where an external tensor's bytes are, checked against the tensor's type and shape and the file's size.</summary>
    public readonly record struct Reference(string Location, string FullPath, long Offset, long Length);

    public Reference Describe(TensorProto tensor)
    {
        string subject = $"tensor '{tensor.Name}'";
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = ParseNonNegative(entry.Value, subject, "offset"); break;
                case "length": length = ParseNonNegative(entry.Value, subject, "length"); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw OnnxErrors.Fail(OnnxError.InvalidExternalData, _modelPath, subject,
                "data_location is EXTERNAL but external_data has no 'location' entry");
        string full = ResolveInsideModelDirectory(location, subject);
        long expected = TensorData.ExpectedByteLength(tensor, _modelPath);
        if (length is long declared && declared != expected)
            throw OnnxErrors.Fail(OnnxError.InvalidExternalData, _modelPath, subject,
                $"external_data length is {declared} bytes but {OnnxElementType.Name(tensor.DataType)} {TensorData.ShapeText(tensor)} needs {expected}");
        long fileLength = FileLength(full, subject);
        if (offset > fileLength || expected > fileLength - offset)
            throw OnnxErrors.Fail(OnnxError.InvalidExternalData, full, subject,
                $"bytes [{offset}, {offset + expected}) were expected but the file has only {fileLength} bytes");
        return new Reference(location, full, offset, expected);
    }

    /// <summary>Address of the tensor's first byte; valid until this object is disposed.</summary>
    public byte* Pointer(TensorProto tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var reference = Describe(tensor);
        if (reference.Length == 0) return null;
        return Map(reference.FullPath) + reference.Offset;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var file in _mapped.Values) file.Dispose();
        _mapped.Clear();
    }

    private byte* Map(string fullPath)
    {
        if (!_mapped.TryGetValue(fullPath, out var file))
        {
            file = MappedFile.Open(fullPath);
            _mapped.Add(fullPath, file);
        }
        return file.Base;
    }

    /// <summary>
    /// Like the ONNX checker, refuse locations that are absolute or climb out of the model's directory: a model
    /// file must not be able to make the importer read arbitrary files.
    /// </summary>
    private string ResolveInsideModelDirectory(string location, string subject)
    {
        if (Path.IsPathRooted(location))
            throw OnnxErrors.Fail(OnnxError.InvalidExternalData, _modelPath, subject,
                $"external data location '{location}' is absolute; it must be relative to the model's directory");
        string full = Path.GetFullPath(Path.Combine(_directory, location));
        string root = _directory.EndsWith(Path.DirectorySeparatorChar) ? _directory : _directory + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, StringComparison.Ordinal))
            throw OnnxErrors.Fail(OnnxError.InvalidExternalData, _modelPath, subject,
                $"external data location '{location}' points outside the model's directory");
        return full;
    }

    private long FileLength(string full, string subject)
    {
        try
        {
            var info = new FileInfo(full);
            if (!info.Exists)
                throw OnnxErrors.Fail(OnnxError.InvalidExternalData, _modelPath, subject,
                    $"external data file '{full}' does not exist");
            return info.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw OnnxErrors.Fail(OnnxError.InvalidExternalData, full, subject, $"cannot read external data file: {e.Message}", e);
        }
    }

    private long ParseNonNegative(string text, string subject, string field) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw OnnxErrors.Fail(OnnxError.InvalidExternalData, _modelPath, subject,
                $"external_data '{field}' is '{text}'; expected a non-negative decimal integer");

    private sealed class MappedFile : IDisposable
    {
        private readonly MemoryMappedFile _map;
        private readonly MemoryMappedViewAccessor _view;

        private MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer)
        {
            _map = map;
            _view = view;
            Base = basePointer;
        }

        public byte* Base { get; }

        public static MappedFile Open(string path)
        {
            MemoryMappedFile map;
            try
            {
                map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw OnnxErrors.Fail(OnnxError.InvalidExternalData, path, null, $"cannot map external data file: {e.Message}", e);
            }
            MemoryMappedViewAccessor? view = null;
            try
            {
                view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                return new MappedFile(map, view, pointer + view.PointerOffset);
            }
            catch
            {
                view?.Dispose();
                map.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map.Dispose();
        }
    }
}
