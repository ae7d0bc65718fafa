namespace OrtZo.Tokenization;

/// <summary>
/// GPT-2's reversible map from the 256 byte values to 256 printable characters. Byte-level BPE
/// vocabularies (GPT-2, OPT, Qwen2, and the ones <see cref="ByteBpeTrainer"/> writes) spell every token
/// in these characters, so that vocab.json and merges.txt never hold raw control bytes or spaces
/// ("Ġ" is the space byte 0x20).
/// </summary>
internal static class Gpt2ByteAlphabet
{
    private static readonly char[] ByteToChar = BuildTable();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char ForByte(byte value) => ByteToChar[value];

    private static char[] BuildTable()
    {
        // Printable Latin-1 bytes keep their own code point; the other 68 bytes (controls, space,
        // DEL, NBSP, soft hyphen...) are given the code points 256, 257, ... in byte order.
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
