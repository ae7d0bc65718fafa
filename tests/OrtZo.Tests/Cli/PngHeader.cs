using System.Buffers.Binary;
using System.Text;

namespace OrtZo.Tests.Cli;

/// <summary>
/// Reads a PNG the way a decoder starts to (written here from the PNG specification, not with the library that wrote
/// the file): the 8-byte signature, then chunks of length, type, data and CRC-32; IHDR first with width and height,
/// at least one IDAT, IEND last, every CRC correct.
/// </summary>
internal static class PngHeader
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static (int Width, int Height) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8 || !bytes.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException($"{path}: no PNG signature");
        int at = 8, width = -1, height = -1, idat = 0;
        string? first = null, last = null;
        while (at < bytes.Length)
        {
            if (at + 12 > bytes.Length) throw new InvalidDataException($"{path}: chunk header cut at byte {at}");
            int length = checked((int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at)));
            string type = Encoding.ASCII.GetString(bytes, at + 4, 4);
            if (at + 12 + length > bytes.Length) throw new InvalidDataException($"{path}: chunk {type} runs past the end");
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8 + length));
            if (Crc32(bytes.AsSpan(at + 4, 4 + length)) != crc) throw new InvalidDataException($"{path}: chunk {type} has a wrong CRC");
            if (type == "IHDR")
            {
                if (length != 13) throw new InvalidDataException($"{path}: IHDR of {length} bytes");
                width = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8));
                height = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 12));
            }
            if (type == "IDAT") idat++;
            first ??= type;
            last = type;
            at += 12 + length;
        }
        if (first != "IHDR" || last != "IEND" || idat == 0) throw new InvalidDataException($"{path}: chunks start with {first}, end with {last}, {idat} IDAT");
        return (width, height);
    }

    /// <summary>CRC-32 of the PNG specification (ISO 3309 polynomial, reflected, bit by bit).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFF;
    }
}
