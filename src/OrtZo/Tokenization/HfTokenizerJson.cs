using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using OrtZo.Onnx.Model;

namespace OrtZo.Tokenization;

/// <summary>One entry of tokenizer.json's added_tokens: matched in the raw text before anything else runs.</summary>
/// <param name="LeftStrip">lstrip: the match takes the whitespace before it.</param>
/// <param name="RightStrip">rstrip: the match takes the whitespace after it.</param>
internal sealed record AddedToken(string Content, int Id, bool LeftStrip, bool RightStrip);

/// <summary>
/// A tokenizer built from a Hugging Face tokenizer.json. As Hugging Face does, the added tokens are matched in the
/// text first (leftmost-longest, with their lstrip/rstrip), and each text segment between them is normalized,
/// pre-tokenized and encoded on its own by <paramref name="EncodeSegment"/> (its second argument: whether the
/// segment starts the text). <paramref name="Inner"/> is the library tokenizer that decodes.
/// </summary>
internal sealed record HfTokenizer(Tokenizer Inner, int VocabSize, IReadOnlyList<AddedToken> AddedTokens, string Description,
    Action<string, bool, List<int>> EncodeSegment)
{
    private readonly AddedToken[] _byLength = AddedTokens.Where(t => t.Content.Length > 0)
        .OrderByDescending(t => t.Content.Length).ThenBy(t => t.Content, StringComparer.Ordinal).ToArray();

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        int start = 0, at = 0;
        while (at < text.Length)
        {
            var token = Array.Find(_byLength, t => string.CompareOrdinal(text, at, t.Content, 0, t.Content.Length) == 0);
            if (token is null)
            {
                at++;
                continue;
            }
            int segmentEnd = at, next = at + token.Content.Length;
            if (token.LeftStrip)
                while (segmentEnd > start && char.IsWhiteSpace(text[segmentEnd - 1])) segmentEnd--;
            if (token.RightStrip)
                while (next < text.Length && char.IsWhiteSpace(text[next])) next++;
            if (segmentEnd > start) EncodeSegment(text[start..segmentEnd], start == 0, ids);
            ids.Add(token.Id);
            at = start = next;
        }
        if (start < text.Length) EncodeSegment(text[start..], start == 0, ids);
        return [.. ids];
    }
}

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> into Microsoft.ML.Tokenizers, for the two BPE families causal LMs use:
/// <list type="bullet">
/// <item>byte-level BPE (GPT-2, OPT, Qwen2, Llama 3, Phi, …): a <c>ByteLevel</c> pre-tokenizer alone (GPT-2's split)
/// or after one <c>Split</c> by a regex (Qwen2's and Llama 3's patterns, run by .NET's regex engine); an optional NFC
/// normalizer; ByteLevel's add_prefix_space;</item>
/// <item>SentencePiece-style BPE (Llama 2, Mistral): <c>byte_fallback</c>, "▁" for spaces through a Prepend/Replace
/// normalizer or a Metaspace pre-tokenizer. The library's SentencePiece BPE takes a SentencePiece model, so one is
/// written in memory: every piece with its type, scores that rank a merged piece by its first merge in
/// tokenizer.json (SentencePiece merges by the merged piece's score, which is the same order for vocabularies
/// converted from SentencePiece), and the normalizer flags.</item>
/// </list>
/// Every added token (special or not) is matched in the text before pre-tokenization, as Hugging Face does. Unigram
/// and WordPiece models, other pre-tokenizers and normalizers are refused, naming the file and the field.
/// </summary>
internal static class HfTokenizerJson
{
    /// <summary>GPT-2's split, what ByteLevel(use_regex = true) runs.</summary>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const char Metaspace = '\u2581';

    public static HfTokenizer Load(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw Refused(path, "tokenizer.json", $"not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw Refused(path, "model", "no model object");
            string type = Text(model, "type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "?");
            if (type != "BPE")
                throw Refused(path, "model.type", $"'{type}' models are not supported (BPE only: byte-level or SentencePiece-style)");
            var vocab = ReadVocab(path, model);
            var merges = ReadMerges(path, model);
            var added = ReadAddedTokens(path, root);
            int vocabSize = Math.Max(vocab.Values.Max(), added.Count == 0 ? 0 : added.Max(t => t.Id)) + 1;
            var pre = root.TryGetProperty("pre_tokenizer", out var p) ? p : default;
            var normalizer = root.TryGetProperty("normalizer", out var n) ? n : default;
            var decoder = root.TryGetProperty("decoder", out var d) ? d : default;
            if (HasType(pre, "ByteLevel") || HasType(decoder, "ByteLevel"))
                return ByteLevel(path, vocab, merges, added, pre, normalizer, vocabSize);
            if (Bool(model, "byte_fallback") == true || HasType(pre, "Metaspace") || HasType(normalizer, "Prepend"))
                return SentencePieceStyle(path, model, vocab, merges, added, pre, normalizer, vocabSize);
            throw Refused(path, "pre_tokenizer", "a BPE model that is neither byte-level (ByteLevel pre-tokenizer) nor SentencePiece-style (byte_fallback, Metaspace or a Prepend normalizer)");
        }
    }

    private static HfTokenizer ByteLevel(string path, Dictionary<string, int> vocab, List<string> merges, List<AddedToken> added,
        JsonElement pre, JsonElement normalizer, int vocabSize)
    {
        // ByteLevel alone splits with GPT-2's regex (use_regex defaults to true); after a Split it only maps bytes.
        string pattern;
        JsonElement byteLevel;
        if (pre.ValueKind == JsonValueKind.Object && Text(pre, "type") == "ByteLevel")
        {
            byteLevel = pre;
            if (Bool(pre, "use_regex") == false)
                throw Refused(path, "pre_tokenizer.use_regex", "a ByteLevel pre-tokenizer without a split is not supported");
            pattern = Gpt2Pattern;
        }
        else if (pre.ValueKind == JsonValueKind.Object && Text(pre, "type") == "Sequence" && pre.TryGetProperty("pretokenizers", out var steps)
                 && steps.GetArrayLength() == 2 && Text(steps[0], "type") == "Split" && Text(steps[1], "type") == "ByteLevel")
        {
            var split = steps[0];
            byteLevel = steps[1];
            if (!split.TryGetProperty("pattern", out var pat) || Text(pat, "Regex") is not { } regex)
                throw Refused(path, "pre_tokenizer.pretokenizers[0].pattern", "a Split by a plain string is not supported (a Regex pattern is)");
            if (Text(split, "behavior") is { } behavior && behavior != "Isolated")
                throw Refused(path, "pre_tokenizer.pretokenizers[0].behavior", $"Split behaviour '{behavior}' is not supported (Isolated is)");
            if (Bool(split, "invert") == true)
                throw Refused(path, "pre_tokenizer.pretokenizers[0].invert", "an inverted Split is not supported");
            if (Bool(byteLevel, "use_regex") == true)
                throw Refused(path, "pre_tokenizer.pretokenizers[1].use_regex", "a second (GPT-2) split after the Split is not supported");
            pattern = regex;
        }
        else
        {
            throw Refused(path, "pre_tokenizer", $"{Describe(pre)} is not supported for byte-level BPE (ByteLevel, or Sequence[Split(Regex), ByteLevel])");
        }

        Regex compiled;
        try
        {
            compiled = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw Refused(path, "pre_tokenizer", $"the split pattern does not compile as a .NET regex ({e.Message})", e);
        }
        bool nfc = NormalizerIsNfc(path, normalizer);
        bool prefixSpace = Bool(byteLevel, "add_prefix_space") == true;
        try
        {
            var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                SpecialTokens = added.ToDictionary(t => t.Content, t => t.Id),
                PreTokenizer = new RegexPreTokenizer(compiled, null),
            });
            return new HfTokenizer(bpe, vocabSize, added, pattern == Gpt2Pattern ? "byte-level BPE, GPT-2 split" : "byte-level BPE, regex split",
                (segment, _, ids) =>
                {
                    string text = nfc ? segment.Normalize(NormalizationForm.FormC) : segment;
                    // ByteLevel's add_prefix_space: a space in front unless the segment starts with whitespace.
                    if (prefixSpace && !char.IsWhiteSpace(text[0])) text = " " + text;
                    ids.AddRange(bpe.EncodeToIds(text));
                });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw Refused(path, "model.merges", e.Message, e);
        }
    }

    private static HfTokenizer SentencePieceStyle(string path, JsonElement model, Dictionary<string, int> vocab, List<string> merges,
        List<AddedToken> added, JsonElement pre, JsonElement normalizer, int vocabSize)
    {
        var prefix = DummyPrefix(path, pre, normalizer);
        bool byteFallback = Bool(model, "byte_fallback") == true;
        bool fuseUnknown = Bool(model, "fuse_unk") == true;
        string? unk = Text(model, "unk_token");
        int unkId = unk is not null && vocab.TryGetValue(unk, out int u) ? u : -1;
        var byteIds = new int[256];
        for (int b = 0; b < 256; b++)
            byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        if (byteFallback && Array.IndexOf(byteIds, -1) is int gap and >= 0)
            throw Refused(path, "model.vocab", $"byte_fallback is on but there is no <0x{gap:X2}> token");
        if (!byteFallback && unkId < 0)
            throw Refused(path, "model.unk_token", "neither byte_fallback nor an unknown token in the vocabulary: characters outside it could not be encoded");

        Tokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab) { Merges = merges, PreTokenizer = WholeText.Instance });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw Refused(path, "model.merges", e.Message, e);
        }
        var decoder = SentencePieceDecoder(path, model, vocab, merges, added, vocabSize, byteFallback, unk, prefix != PrefixScheme.Never);

        return new HfTokenizer(decoder, vocabSize, added, "SentencePiece-style BPE" + (byteFallback ? " with byte fallback" : ""), (segment, atStart, ids) =>
        {
            string text = segment.Replace(' ', Metaspace);
            if (prefix == PrefixScheme.Always || (prefix == PrefixScheme.First && atStart)) text = Metaspace + text;
            // Characters outside the vocabulary become byte tokens (or <unk>); no merge crosses them, so the runs of
            // known characters between them are separate BPE words, exactly as in Hugging Face's BPE with byte_fallback.
            int run = 0;
            bool lastWasUnknown = false;
            for (int i = 0; i < text.Length;)
            {
                int width = char.IsSurrogatePair(text, i) ? 2 : 1;
                if (vocab.ContainsKey(text.Substring(i, width)))
                {
                    i += width;
                    continue;
                }
                if (i > run) ids.AddRange(bpe.EncodeToIds(text[run..i]));
                if (byteFallback)
                {
                    foreach (byte b in Encoding.UTF8.GetBytes(text.Substring(i, width))) ids.Add(byteIds[b]);
                }
                else if (!(fuseUnknown && lastWasUnknown && i == run))
                {
                    ids.Add(unkId);
                }
                lastWasUnknown = !byteFallback;
                i += width;
                run = i;
            }
            if (run < text.Length) ids.AddRange(bpe.EncodeToIds(text[run..]));
        });
    }

    /// <summary>
    /// The library's SentencePiece BPE over the same pieces, used to decode (it turns "▁" into spaces and byte
    /// pieces into UTF-8): a SentencePiece model written in memory with every piece's type and its dummy-prefix flag.
    /// </summary>
    private static Tokenizer SentencePieceDecoder(string path, JsonElement model, Dictionary<string, int> vocab, List<string> merges,
        List<AddedToken> added, int vocabSize, bool byteFallback, string? unk, bool dummyPrefix)
    {
        var pieces = new string?[vocabSize];
        foreach (var (token, id) in vocab) pieces[id] = token;
        foreach (var token in added) pieces[token.Id] ??= token.Content;
        int missing = Array.IndexOf(pieces, null);
        if (missing >= 0)
            throw Refused(path, "model.vocab", $"no token has id {missing}; a SentencePiece-style vocabulary must number its pieces 0..{vocabSize - 1} without gaps");
        var score = new Dictionary<string, float>(StringComparer.Ordinal);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            int space = merges[rank].IndexOf(' ');
            score.TryAdd(string.Concat(merges[rank].AsSpan(0, space), merges[rank].AsSpan(space + 1)), -rank);
        }
        var addedContent = added.Select(t => t.Content).ToHashSet(StringComparer.Ordinal);
        var proto = new SentencePieceModelWriter();
        for (int id = 0; id < vocabSize; id++)
        {
            string piece = pieces[id]!;
            int kind = piece == unk ? SentencePieceModelWriter.Unknown
                : addedContent.Contains(piece) ? SentencePieceModelWriter.Control
                : byteFallback && IsByteToken(piece) ? SentencePieceModelWriter.Byte
                : SentencePieceModelWriter.Normal;
            proto.AddPiece(piece, score.TryGetValue(piece, out var s) ? s : -(merges.Count + id), kind);
        }
        int Id(string? token) => token is not null && vocab.TryGetValue(token, out int id) ? id : added.FirstOrDefault(t => t.Content == token)?.Id ?? -1;
        proto.SetTrainerSpec(vocabSize, byteFallback, unkId: Math.Max(Id(unk), 0), bosId: Id("<s>"), eosId: Id("</s>"));
        proto.SetNormalizerSpec(dummyPrefix);
        try
        {
            using var stream = new MemoryStream(proto.ToArray());
            return SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false,
                specialTokens: added.Count == 0 ? null : added.ToDictionary(t => t.Content, t => t.Id));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            throw Refused(path, "model", $"the SentencePiece decoder built from it was refused ({e.Message})", e);
        }
    }

    private enum PrefixScheme { Never, First, Always }

    private static bool IsByteToken(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>' && Uri.IsHexDigit(piece[3]) && Uri.IsHexDigit(piece[4]);

    /// <summary>
    /// How a "▁" goes in front: to every segment (Llama 2's Prepend("▁") normalizer, a Metaspace with
    /// prepend_scheme "always" or add_prefix_space), to the text's first segment only (prepend_scheme "first"), or
    /// never; refuses normalizer and pre-tokenizer steps other than these and Replace(" ", "▁").
    /// </summary>
    private static PrefixScheme DummyPrefix(string path, JsonElement pre, JsonElement normalizer)
    {
        bool replaces = false;
        var scheme = PrefixScheme.Never;
        foreach (var step in Flatten(normalizer, "normalizers"))
        {
            switch (Text(step, "type"))
            {
                case "Prepend" when Text(step, "prepend") == Metaspace.ToString():
                    scheme = PrefixScheme.Always;
                    break;
                case "Replace" when step.TryGetProperty("pattern", out var pattern) && Text(pattern, "String") == " " && Text(step, "content") == Metaspace.ToString():
                    replaces = true;
                    break;
                default:
                    throw Refused(path, "normalizer", $"{Describe(step)} is not supported for SentencePiece-style BPE (Prepend(\"▁\") and Replace(\" \", \"▁\") are)");
            }
        }
        foreach (var step in Flatten(pre, "pretokenizers"))
        {
            if (Text(step, "type") != "Metaspace")
                throw Refused(path, "pre_tokenizer", $"{Describe(step)} is not supported for SentencePiece-style BPE (Metaspace is)");
            if (Text(step, "replacement") is { } r && r != Metaspace.ToString())
                throw Refused(path, "pre_tokenizer.replacement", $"replacement '{r}' is not supported (\"▁\" is)");
            if (Bool(step, "split") == true)
                throw Refused(path, "pre_tokenizer.split", "a Metaspace that splits at every space is not supported");
            replaces = true;
            scheme = Text(step, "prepend_scheme") switch
            {
                "always" => PrefixScheme.Always,
                "first" => PrefixScheme.First,
                "never" => PrefixScheme.Never,
                _ => Bool(step, "add_prefix_space") == false ? PrefixScheme.Never : PrefixScheme.Always,
            };
        }
        if (!replaces)
            throw Refused(path, "normalizer", "spaces are not turned into \"▁\" (no Replace(\" \", \"▁\") normalizer and no Metaspace pre-tokenizer)");
        return scheme;
    }

    private static bool NormalizerIsNfc(string path, JsonElement normalizer)
    {
        bool nfc = false;
        foreach (var step in Flatten(normalizer, "normalizers"))
        {
            if (Text(step, "type") != "NFC")
                throw Refused(path, "normalizer", $"{Describe(step)} is not supported for byte-level BPE (none or NFC is)");
            nfc = true;
        }
        return nfc;
    }

    /// <summary>The steps of a normalizer or pre-tokenizer: none for null, the items of a Sequence, or the element itself.</summary>
    private static IEnumerable<JsonElement> Flatten(JsonElement element, string listName)
    {
        if (element.ValueKind != JsonValueKind.Object) yield break;
        if (Text(element, "type") == "Sequence" && element.TryGetProperty(listName, out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in list.EnumerateArray())
                foreach (var inner in Flatten(item, listName)) yield return inner;
            yield break;
        }
        yield return element;
    }

    private static bool HasType(JsonElement element, string type)
    {
        if (element.ValueKind != JsonValueKind.Object) return false;
        if (Text(element, "type") == type) return true;
        foreach (var list in new[] { "pretokenizers", "decoders", "normalizers" })
            if (element.TryGetProperty(list, out var items) && items.ValueKind == JsonValueKind.Array && items.EnumerateArray().Any(i => HasType(i, type)))
                return true;
        return false;
    }

    private static Dictionary<string, int> ReadVocab(string path, JsonElement model)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw Refused(path, "model.vocab", "expected an object mapping tokens to ids");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw Refused(path, "model.vocab", $"token {JsonSerializer.Serialize(entry.Name)} has id {entry.Value}; ids are non-negative integers");
            result[entry.Name] = id;
        }
        if (result.Count == 0) throw Refused(path, "model.vocab", "the vocabulary is empty");
        return result;
    }

    /// <summary>Merges as "left right" strings, from either spelling tokenizer.json uses ("a b" or ["a", "b"]).</summary>
    private static List<string> ReadMerges(string path, JsonElement model)
    {
        var result = new List<string>();
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind == JsonValueKind.Null) return result;
        if (merges.ValueKind != JsonValueKind.Array) throw Refused(path, "model.merges", "expected an array");
        int index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            string? text = merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString(),
                JsonValueKind.Array when merge.GetArrayLength() == 2 && merge[0].GetString() is { } a && merge[1].GetString() is { } b
                    && !a.Contains(' ') && !b.Contains(' ') => a + " " + b,
                _ => null,
            };
            if (text is null || text.Split(' ').Length != 2)
                throw Refused(path, $"model.merges[{index}]", $"expected two tokens without spaces, found {merge.GetRawText()}");
            result.Add(text);
            index++;
        }
        return result;
    }

    private static List<AddedToken> ReadAddedTokens(string path, JsonElement root)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array) return result;
        int index = 0;
        foreach (var token in tokens.EnumerateArray())
        {
            string? content = Text(token, "content");
            if (content is null || !token.TryGetProperty("id", out var id) || !id.TryGetInt32(out int value) || value < 0)
                throw Refused(path, $"added_tokens[{index}]", "expected an object with a content string and a non-negative id");
            if (Bool(token, "single_word") == true)
                throw Refused(path, $"added_tokens[{index}].single_word", $"single-word matching of {JsonSerializer.Serialize(content)} is not supported");
            result.Add(new AddedToken(content, value, Bool(token, "lstrip") == true, Bool(token, "rstrip") == true));
            index++;
        }
        return result;
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Bool(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static string Describe(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object ? $"'{Text(element, "type") ?? "?"}'" : element.ValueKind == JsonValueKind.Undefined ? "none" : element.ValueKind.ToString().ToLowerInvariant();

    private static OrtZoException Refused(string path, string field, string why, Exception? inner = null) =>
        new(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer, $"{path}: {field}: {why}", path, field,
            hint: "supported: byte-level BPE (GPT-2, Qwen2, Llama 3 splits) and SentencePiece-style BPE (Llama 2, Mistral) tokenizer.json; or give vocab.json + merges.txt or tokenizer.model", inner: inner);

    /// <summary>No split: Hugging Face's BPE with no pre-tokenizer takes the whole (normalized) segment as one word.</summary>
    private sealed class WholeText : PreTokenizer
    {
        public static readonly WholeText Instance = new();

        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => text.Length == 0 ? [] : [(0, text.Length)];

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => text.Length == 0 ? [] : [(0, text.Length)];
    }
}
