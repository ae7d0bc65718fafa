using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using OrtZo.Tokenization.SentencePieceFormat;
using PieceType = OrtZo.Tokenization.SentencePieceFormat.ModelProto.Types.SentencePiece.Types.Type;

using OrtZo.Onnx.Model;

namespace OrtZo.Tools;

/// <summary>
/// Turns a llama2.c <c>tokenizer.bin</c> back into the SentencePiece <c>tokenizer.model</c> it was exported
/// from, so the "sentencepiece" <see cref="TextTokenizer"/> can load it.
/// <para>
/// tokenizer.bin (little-endian): int32 max_token_length, then per token float32 score, int32 byte length and
/// the UTF-8 bytes. llama2.c's exporter wrote each SentencePiece piece with '▁' turned into ' ', and BOS/EOS as
/// "\n&lt;s&gt;\n" / "\n&lt;/s&gt;\n"; this undoes both. The model is BPE with byte fallback and a dummy prefix,
/// and no whitespace clean-up, because llama2.c's own encoder neither collapses nor trims spaces.
/// </para>
/// </summary>
internal static class Llama2cTokenizerConverter
{
    private const string UnknownPiece = "<unk>";
    private const string BosPiece = "<s>";
    private const string EosPiece = "</s>";
    private const string Llama2cBos = "\n<s>\n";
    private const string Llama2cEos = "\n</s>\n";
    private const char SentencePieceSpace = '\u2581';

    /// <summary>Reads <paramref name="tokenizerBinPath"/> and writes the equivalent tokenizer.model to <paramref name="tokenizerModelPath"/>.</summary>
    /// <exception cref="InvalidDataException">The input is not a well-formed tokenizer.bin; the message names the file and the token.</exception>
    public static void Convert(string tokenizerBinPath, string tokenizerModelPath)
    {
        ModelProto model = ToModelProto(File.ReadAllBytes(tokenizerBinPath), tokenizerBinPath);
        File.WriteAllBytes(tokenizerModelPath, model.ToByteArray());
    }

    /// <summary>The SentencePiece model of a tokenizer.bin held in memory; <paramref name="sourceName"/> is used in error messages.</summary>
    public static ModelProto ToModelProto(ReadOnlySpan<byte> tokenizerBin, string sourceName)
    {
        List<(float Score, string Text)> tokens = ReadTokens(tokenizerBin, sourceName);

        var model = new ModelProto();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        int unkId = -1, bosId = -1, eosId = -1, firstByteId = -1;
        for (int id = 0; id < tokens.Count; id++)
        {
            (float score, string text) = tokens[id];
            (string piece, PieceType type) = text switch
            {
                UnknownPiece => (UnknownPiece, PieceType.Unknown),
                Llama2cBos => (BosPiece, PieceType.Control),
                Llama2cEos => (EosPiece, PieceType.Control),
                _ when IsBytePiece(text) => (text, PieceType.Byte),
                _ => (text.Replace(' ', SentencePieceSpace), PieceType.Normal),
            };
            if (!seen.TryAdd(piece, id))
            {
                throw Malformed(
                    $"Malformed tokenizer file {sourceName}: token {id} \"{Printable(text)}\" repeats token {seen[piece]}; SentencePiece pieces must be unique.");
            }
            switch (type)
            {
                case PieceType.Unknown: unkId = id; break;
                case PieceType.Control when piece == BosPiece: bosId = id; break;
                case PieceType.Control: eosId = id; break;
                case PieceType.Byte when piece == "<0x00>": firstByteId = id; break;
            }
            model.Pieces.Add(new ModelProto.Types.SentencePiece { Piece = piece, Score = score, Type = type });
        }

        RequirePresent(unkId, UnknownPiece, sourceName);
        RequirePresent(bosId, Printable(Llama2cBos), sourceName);
        RequirePresent(eosId, Printable(Llama2cEos), sourceName);
        RequireContiguousBytes(seen, firstByteId, sourceName);

        model.TrainerSpec = new TrainerSpec
        {
            ModelType = TrainerSpec.Types.ModelType.Bpe,
            VocabSize = tokens.Count,
            ByteFallback = true,
            TreatWhitespaceAsSuffix = false,
            UnkId = unkId,
            BosId = bosId,
            EosId = eosId,
            PadId = -1,
            UnkPiece = UnknownPiece,
            BosPiece = BosPiece,
            EosPiece = EosPiece,
        };
        model.NormalizerSpec = new NormalizerSpec
        {
            Name = "identity",
            PrecompiledCharsmap = ByteString.Empty,
            AddDummyPrefix = true,
            RemoveExtraWhitespaces = false,
            EscapeWhitespaces = true,
        };
        return model;
    }

    private static List<(float Score, string Text)> ReadTokens(ReadOnlySpan<byte> data, string sourceName)
    {
        if (data.Length < 4)
        {
            throw Malformed($"Malformed tokenizer file {sourceName}: {data.Length} bytes, too short for the max_token_length header.");
        }
        int maxTokenLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxTokenLength <= 0)
        {
            throw Malformed($"Malformed tokenizer file {sourceName}: max_token_length is {maxTokenLength}, expected a positive byte count.");
        }

        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var tokens = new List<(float, string)>();
        int offset = 4;
        while (offset < data.Length)
        {
            int id = tokens.Count;
            if (data.Length - offset < 8)
            {
                throw Malformed(
                    $"Malformed tokenizer file {sourceName}: token {id} at byte {offset} is cut off (needs a float32 score and an int32 length).");
            }
            float score = BinaryPrimitives.ReadSingleLittleEndian(data[offset..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(data[(offset + 4)..]);
            offset += 8;
            if (length <= 0 || length > maxTokenLength || length > data.Length - offset)
            {
                throw Malformed(
                    $"Malformed tokenizer file {sourceName}: token {id} claims {length} bytes; expected 1..{maxTokenLength} (max_token_length) with {data.Length - offset} bytes left.");
            }
            string text;
            try
            {
                text = strictUtf8.GetString(data.Slice(offset, length));
            }
            catch (DecoderFallbackException e)
            {
                throw Malformed($"Malformed tokenizer file {sourceName}: token {id} is not valid UTF-8.", e);
            }
            offset += length;
            tokens.Add((score, text));
        }
        return tokens;
    }

    private static bool IsBytePiece(string text) =>
        text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
        && Uri.IsHexDigit(text[3]) && Uri.IsHexDigit(text[4]);

    private static void RequirePresent(int id, string what, string sourceName)
    {
        if (id < 0)
        {
            throw Malformed($"Malformed tokenizer file {sourceName}: no \"{what}\" token.");
        }
    }

    /// <summary>Byte fallback finds the token of byte b at (id of &lt;0x00&gt;) + b, so all 256 must be present and in order.</summary>
    private static void RequireContiguousBytes(Dictionary<string, int> ids, int firstByteId, string sourceName)
    {
        for (int b = 0; b < 256; b++)
        {
            string piece = $"<0x{b:X2}>";
            bool found = ids.TryGetValue(piece, out int id);
            if (!found || id != firstByteId + b)
            {
                string where = found ? $"at id {id}, expected {firstByteId + b}" : "missing";
                throw Malformed(
                    $"Malformed tokenizer file {sourceName}: byte fallback needs the 256 tokens <0x00>..<0xFF> in order; {piece} is {where}.");
            }
        }
    }

    private static string Printable(string text) => text.Replace("\n", "\\n");

    /// <summary>A llama2.c tokenizer.bin OrtZo cannot convert; the message names the file.</summary>
    private static OrtZoException Malformed(string message, Exception? inner = null) =>
        new(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer, message, subject: "tokenizer", inner: inner);
}
