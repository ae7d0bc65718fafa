namespace OrtZo.Tokenization;

/// <summary>
/// Writes a SentencePiece model (sentencepiece_model.proto's ModelProto) in memory: the pieces with score and type,
/// a trainer spec (model type, BPE unless asked, vocabulary size, byte fallback, unk/bos/eos ids) and a normalizer spec with no character
/// map, spaces escaped to "▁" and an optional dummy prefix. Only the fields the library reads are written.
/// </summary>
internal sealed class SentencePieceModelWriter
{
    public const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;

    private readonly MemoryStream _pieces = new();
    private byte[] _trainer = [];
    private byte[] _normalizer = [];

    public void AddPiece(string piece, float score, int type)
    {
        var message = new MemoryStream();
        WriteBytes(message, 1, System.Text.Encoding.UTF8.GetBytes(piece));
        WriteTag(message, 2, 5);
        message.Write(BitConverter.GetBytes(score));
        WriteVarintField(message, 3, type);
        WriteBytes(_pieces, 1, message.ToArray());
    }

    public void SetTrainerSpec(int vocabSize, bool byteFallback, int unkId, int bosId, int eosId, int modelType = SentencePieceModel.Bpe)
    {
        var message = new MemoryStream();
        WriteVarintField(message, 3, modelType);
        WriteVarintField(message, 4, vocabSize);
        WriteVarintField(message, 35, byteFallback ? 1 : 0);
        WriteVarintField(message, 40, unkId);
        WriteVarintField(message, 41, bosId);
        WriteVarintField(message, 42, eosId);
        WriteVarintField(message, 43, -1);                // pad_id
        _trainer = message.ToArray();
    }

    public void SetNormalizerSpec(bool addDummyPrefix)
    {
        var message = new MemoryStream();
        WriteBytes(message, 1, "identity"u8.ToArray());
        WriteVarintField(message, 3, addDummyPrefix ? 1 : 0);
        WriteVarintField(message, 4, 0);                  // remove_extra_whitespaces: Hugging Face keeps them
        WriteVarintField(message, 5, 1);                  // escape_whitespaces
        _normalizer = message.ToArray();
    }

    public byte[] ToArray()
    {
        var model = new MemoryStream();
        _pieces.Position = 0;
        _pieces.CopyTo(model);
        WriteBytes(model, 2, _trainer);
        WriteBytes(model, 3, _normalizer);
        return model.ToArray();
    }

    private static void WriteTag(Stream s, int field, int wireType) => WriteVarint(s, (ulong)((field << 3) | wireType));

    private static void WriteVarintField(Stream s, int field, long value)
    {
        WriteTag(s, field, 0);
        WriteVarint(s, unchecked((ulong)value));          // negative int32s take ten bytes, as protobuf encodes them
    }

    private static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }
}
