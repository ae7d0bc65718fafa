using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace OrtZo.WeightStore;

/// <summary>
/// A safetensors file opened read-only through a memory map, validated before any tensor is handed out:
/// 8-byte little-endian header length, a UTF-8 JSON header, then one byte buffer that the declared tensors
/// cover exactly, in order, with no holes (the format's own rules; see README.md in this folder).
/// </summary>
internal sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Same limit as the reference implementation: a larger header is refused before it is read.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsEntry> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr,
        long dataStart, long dataLength, List<SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _base = basePtr;
        _dataStart = dataStart;
        DataLength = dataLength;
        Tensors = entries;
        Metadata = metadata;
        _byName = entries.ToDictionary(e => e.Spec.Name, StringComparer.Ordinal);
    }

    public string FilePath { get; }

    /// <summary>Tensors in the order of their data.</summary>
    public IReadOnlyList<SafetensorsEntry> Tensors { get; }

    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public long DataLength { get; }

    public static SafetensorsFile Open(string path)
    {
        long fileLength;
        try
        {
            fileLength = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WeightStoreErrors.Fail(WeightStoreError.Io, path, null, $"cannot read the file: {e.Message}", e);
        }
        if (fileLength < 8)
            throw WeightStoreErrors.Fail(WeightStoreError.HeaderTooSmall, path, null,
                $"file has {fileLength} bytes; a safetensors file starts with an 8-byte header length");

        MemoryMappedFile map;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WeightStoreErrors.Fail(WeightStoreError.Io, path, null, $"cannot map the file: {e.Message}", e);
        }
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            acquired = true;
            p += view.PointerOffset;
            var parsed = ParseHeader(path, new ReadOnlySpan<byte>(p, (int)Math.Min(fileLength, int.MaxValue)), fileLength);
            return new SafetensorsFile(path, map, view, p, parsed.DataStart, fileLength - parsed.DataStart, parsed.Entries, parsed.Metadata);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    public bool TryGet(string name, out SafetensorsEntry entry) => _byName.TryGetValue(name, out entry!);

    public SafetensorsEntry Get(string name) =>
        _byName.TryGetValue(name, out var e)
            ? e
            : throw WeightStoreErrors.Fail(WeightStoreError.MissingTensor, FilePath, name, "not in the file");

    /// <summary>Address of a tensor's first byte inside the map; valid until this object is disposed.</summary>
    public byte* GetPointer(SafetensorsEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + _dataStart + entry.DataOffset;
    }

    /// <summary>The tensor's bytes (tensors over 2 GiB must be read through <see cref="GetPointer"/>).</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsEntry entry)
    {
        if (entry.Spec.ByteLength > int.MaxValue)
            throw WeightStoreErrors.Fail(WeightStoreError.Io, FilePath, entry.Spec.Name, "tensor is larger than 2 GiB; read it through GetPointer");
        return new ReadOnlySpan<byte>(GetPointer(entry), (int)entry.Spec.ByteLength);
    }

    public ReadOnlySpan<byte> GetBytes(string name) => GetBytes(Get(name));

    /// <summary>Reads a tensor as float32, converting from f16 or bf16.</summary>
    public float[] ReadAsFloat32(string name)
    {
        var entry = Get(name);
        var result = new float[entry.Spec.ElementCount];
        var src = GetBytes(entry);
        FloatConversions.ToFloat32(entry.Spec.DType, src, result, FilePath, name);
        return result;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }

    private readonly record struct ParsedHeader(long DataStart, List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata);

    private static ParsedHeader ParseHeader(string path, ReadOnlySpan<byte> file, long fileLength)
    {
        ulong headerLength = BitConverter.IsLittleEndian
            ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(file)
            : throw new PlatformNotSupportedException("big-endian hosts are not supported");
        if (headerLength > MaxHeaderBytes)
            throw WeightStoreErrors.Fail(WeightStoreError.HeaderTooLarge, path, null,
                $"declared header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)headerLength > fileLength - 8)
            throw WeightStoreErrors.Fail(WeightStoreError.HeaderTooLarge, path, null,
                $"declared header length {headerLength} exceeds the {fileLength - 8} bytes after the length prefix");
        var header = file.Slice(8, (int)headerLength);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        var entries = new List<(string Name, TensorSpec Spec, long Begin, long End)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            if (!System.Text.Unicode.Utf8.IsValid(header)) throw new InvalidDataException("header is not valid UTF-8");
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidHeader, path, null, $"header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw WeightStoreErrors.Fail(WeightStoreError.InvalidHeader, path, null, "header must be a JSON object");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw WeightStoreErrors.Fail(WeightStoreError.DuplicateTensor, path, prop.Name, "appears twice in the header");
                if (prop.Name == "__metadata__")
                {
                    ReadMetadata(path, prop.Value, metadata);
                    continue;
                }
                entries.Add(ReadEntry(path, prop.Name, prop.Value));
            }
        }

        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        var result = new List<SafetensorsEntry>(entries.Count);
        foreach (var (name, spec, begin, end) in entries)
        {
            if (begin != expected)
                throw WeightStoreErrors.Fail(WeightStoreError.InvalidOffset, path, name,
                    $"data_offsets start at {begin}, expected {expected} (tensors must cover the buffer in order, without holes or overlap)");
            if (end - begin != spec.ByteLength)
                throw WeightStoreErrors.Fail(WeightStoreError.ShapeMismatch, path, name,
                    $"data_offsets span {end - begin} bytes but {spec.DType.ToSafetensorsName()} {spec.ShapeText} needs {spec.ByteLength}");
            if (end > dataLength)
                throw WeightStoreErrors.Fail(WeightStoreError.IncompleteBuffer, path, name,
                    $"data ends at byte {end} of a {dataLength}-byte buffer");
            result.Add(new SafetensorsEntry(spec, begin));
            expected = end;
        }
        if (expected != dataLength)
            throw WeightStoreErrors.Fail(WeightStoreError.IncompleteBuffer, path, null,
                $"tensors cover {expected} bytes but the data buffer has {dataLength}");
        return new ParsedHeader(dataStart, result, metadata);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidHeader, path, null, "__metadata__ must be an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw WeightStoreErrors.Fail(WeightStoreError.InvalidHeader, path, null, $"__metadata__.{m.Name} must be a string");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                throw WeightStoreErrors.Fail(WeightStoreError.InvalidHeader, path, null, $"__metadata__.{m.Name} appears twice");
        }
    }

    private static (string, TensorSpec, long, long) ReadEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidTensorEntry, path, name, "entry must be an object with dtype, shape and data_offsets");
        if (!value.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidTensorEntry, path, name, "field 'dtype' must be a string");
        string dtypeName = dtypeEl.GetString()!;
        if (!DTypeExtensions.TryParseSafetensorsName(dtypeName, out var dtype))
            throw WeightStoreErrors.Fail(WeightStoreError.UnknownDType, path, name, $"dtype '{dtypeName}' is not one of F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL");
        if (!value.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidTensorEntry, path, name, "field 'shape' must be an array of non-negative integers");
        var shape = new List<long>();
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw WeightStoreErrors.Fail(WeightStoreError.InvalidTensorEntry, path, name, "field 'shape' must be an array of non-negative integers");
            shape.Add(dim);
        }
        if (!value.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidTensorEntry, path, name, "field 'data_offsets' must be [begin, end]");
        var off = offEl.EnumerateArray().ToArray();
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw WeightStoreErrors.Fail(WeightStoreError.InvalidOffset, path, name, "data_offsets must be non-negative integers with begin <= end");
        TensorSpec spec;
        try
        {
            spec = new TensorSpec(name, dtype, shape);
        }
        catch (OverflowException e)
        {
            throw WeightStoreErrors.Fail(WeightStoreError.ValidationOverflow, path, name, $"shape {string.Join("x", shape)} overflows a 64-bit byte count", e);
        }
        return (name, spec, begin, end);
    }
}
