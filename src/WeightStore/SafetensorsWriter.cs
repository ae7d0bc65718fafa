using System.Text;
using System.Text.Json;

namespace OrtZo.WeightStore;

/// <summary>Writes safetensors files atomically (temp file, fsync, rename).</summary>
internal static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        byte[] header = BuildHeader(tensors, metadata);
        try
        {
            AtomicFile.Write(path, stream =>
            {
                Span<byte> prefix = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                foreach (var t in tensors)
                {
                    long before = stream.Position;
                    t.WriteTo(stream);
                    if (stream.Position - before != t.Spec.ByteLength)
                        throw new InvalidOperationException($"tensor '{t.Spec.Name}' wrote {stream.Position - before} bytes, expected {t.Spec.ByteLength}");
                }
            });
        }
        catch (IOException e)
        {
            throw WeightStoreErrors.Fail(WeightStoreError.Io, path, null, $"cannot write: {e.Message}", e);
        }
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes so the data buffer starts aligned.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<TensorSource> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                if (t.Spec.Name == "__metadata__" || !names.Add(t.Spec.Name))
                    throw WeightStoreErrors.Fail(WeightStoreError.DuplicateTensor, null, t.Spec.Name, "tensor names must be unique and not '__metadata__'");
                w.WriteStartObject(t.Spec.Name);
                w.WriteString("dtype", t.Spec.DType.ToSafetensorsName());
                w.WriteStartArray("shape");
                foreach (long d in t.Spec.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset = checked(offset + t.Spec.ByteLength);
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int length = (int)ms.Length;
        int padded = (length + 7) & ~7;
        var result = new byte[padded];
        ms.GetBuffer().AsSpan(0, length).CopyTo(result);
        result.AsSpan(length).Fill((byte)' ');
        return result;
    }
}
