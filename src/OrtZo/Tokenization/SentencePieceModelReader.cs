using System.Text;

namespace OrtZo.Tokenization;

/// <summary>One piece of a SentencePiece model: its text, score and type (sentencepiece_model.proto's SentencePiece.Type).</summary>
internal sealed record SentencePiece(string Text, float Score, int Type);

/// <summary>
/// The parts of a SentencePiece model (sentencepiece_model.proto's ModelProto) that decide how it tokenizes: the
/// pieces, the model type and byte fallback of the trainer spec, and the normalizer spec. Absent fields take the
/// proto's defaults (a model that does not state its type is a Unigram model).
/// </summary>
internal sealed record SentencePieceModel(
    IReadOnlyList<SentencePiece> Pieces,
    int ModelType,
    bool ByteFallback,
    int UnkId,
    int BosId,
    int EosId,
    int PadId,
    string NormalizerName,
    bool HasCharsMap,
    bool AddDummyPrefix,
    bool RemoveExtraWhitespaces,
    bool EscapeWhitespaces)
{
    public const int Unigram = 1, Bpe = 2, Word = 3, Char = 4;

    public const int NormalPiece = 1, UnknownPiece = 2, ControlPiece = 3, UserDefinedPiece = 4, UnusedPiece = 5, BytePiece = 6;

    public static string ModelTypeName(int type) => type switch
    {
        Unigram => "Unigram",
        Bpe => "BPE",
        Word => "word",
        Char => "char",
        _ => $"type {type}",
    };
}

/// <summary>
/// Reads a tokenizer.model (a protobuf ModelProto) without the sentencepiece library: the writer has to see the
/// model type and normalizer flags, which Microsoft.ML.Tokenizers keeps to itself.
/// </summary>
internal static class SentencePieceModelReader
{
    public static SentencePieceModel Read(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        try
        {
            return Parse(data);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or DecoderFallbackException)
        {
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, OrtZo.Onnx.Model.ModelFolderError.InvalidTokenizer,
                $"Malformed tokenizer file {path}: not a SentencePiece model ({e.Message}).", path, "tokenizer.model", inner: e);
        }
    }

    private static SentencePieceModel Parse(byte[] data)
    {
        var pieces = new List<SentencePiece>();
        int modelType = SentencePieceModel.Unigram, unkId = 0, bosId = 1, eosId = 2, padId = -1;
        bool byteFallback = false, addDummyPrefix = true, removeExtra = true, escape = true, hasCharsMap = false;
        string normalizer = "nmt_nfkc";
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        foreach (var (field, value, bytes) in Fields(data))
        {
            switch (field)
            {
                case 1:
                    string text = "";
                    float score = 0;
                    int type = SentencePieceModel.NormalPiece;
                    foreach (var (f, v, b) in Fields(bytes))
                    {
                        if (f == 1) text = strict.GetString(b);
                        else if (f == 2) score = BitConverter.ToSingle(b);
                        else if (f == 3) type = (int)v;
                    }
                    pieces.Add(new SentencePiece(text, score, type));
                    break;
                case 2:
                    foreach (var (f, v, _) in Fields(bytes))
                    {
                        switch (f)
                        {
                            case 3: modelType = (int)v; break;
                            case 35: byteFallback = v != 0; break;
                            case 40: unkId = unchecked((int)v); break;
                            case 41: bosId = unchecked((int)v); break;
                            case 42: eosId = unchecked((int)v); break;
                            case 43: padId = unchecked((int)v); break;
                        }
                    }
                    break;
                case 3:
                    foreach (var (f, v, b) in Fields(bytes))
                    {
                        switch (f)
                        {
                            case 1: normalizer = strict.GetString(b); break;
                            case 2: hasCharsMap = b.Length > 0; break;
                            case 3: addDummyPrefix = v != 0; break;
                            case 4: removeExtra = v != 0; break;
                            case 5: escape = v != 0; break;
                        }
                    }
                    break;
            }
        }
        if (pieces.Count == 0) throw new InvalidDataException("it has no pieces");
        return new SentencePieceModel(pieces, modelType, byteFallback, unkId, bosId, eosId, padId, normalizer, hasCharsMap,
            addDummyPrefix, removeExtra, escape);
    }

    /// <summary>The fields of one message: number, varint value (wire type 0) and bytes (wire types 1, 2 and 5).</summary>
    private static IEnumerable<(int Field, ulong Value, byte[] Bytes)> Fields(byte[] message)
    {
        int at = 0;
        while (at < message.Length)
        {
            ulong tag = Varint(message, ref at);
            int field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    yield return (field, Varint(message, ref at), []);
                    break;
                case 1:
                    yield return (field, 0, Take(message, ref at, 8));
                    break;
                case 2:
                    ulong length = Varint(message, ref at);
                    if (length > (ulong)(message.Length - at)) throw new InvalidDataException($"field {field} runs past the end");
                    yield return (field, 0, Take(message, ref at, (int)length));
                    break;
                case 5:
                    yield return (field, 0, Take(message, ref at, 4));
                    break;
                default:
                    throw new InvalidDataException($"field {field} has wire type {tag & 7}, which a ModelProto does not use");
            }
        }
    }

    private static byte[] Take(byte[] message, ref int at, int count)
    {
        if (count > message.Length - at) throw new InvalidDataException("a field runs past the end");
        byte[] result = message[at..(at + count)];
        at += count;
        return result;
    }

    private static ulong Varint(byte[] message, ref int at)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (at >= message.Length) throw new InvalidDataException("a varint runs past the end");
            byte b = message[at++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("a varint is longer than ten bytes");
    }
}
