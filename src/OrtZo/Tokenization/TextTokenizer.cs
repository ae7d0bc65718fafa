using System.Text.Json;
using Microsoft.ML.Tokenizers;
using OrtZo.Onnx.Model;

namespace OrtZo.Tokenization;

/// <summary>
/// The model folder's tokenizer, as MeZO's Hugging Face tokenizer is used: <see cref="Encode"/> is
/// <c>tokenizer.encode(text)</c> (special tokens included), which is what option lengths and scoring
/// rows are built from. Two kinds, named by <see cref="TokenizerInfo.Kind"/>:
/// <list type="bullet">
/// <item>"byte-bpe": vocab.json + merges.txt, GPT-2 style byte-level BPE (GPT-2, OPT, and the vocabularies
/// <see cref="ByteBpeTrainer"/> writes), pre-tokenized with GPT-2's regex;</item>
/// <item>"sentencepiece": tokenizer.model (Llama, Mistral, and what <see cref="Llama2cTokenizerConverter"/>
/// writes);</item>
/// <item>"tokenizer-json": a Hugging Face tokenizer.json (<see cref="HfTokenizerJson"/>: byte-level BPE with the
/// GPT-2, Qwen2 or Llama 3 split, or SentencePiece-style BPE), added and special tokens matched in the text.</item>
/// </list>
/// BOS and EOS are added here, from <see cref="TokenizerInfo"/>, never by the underlying library, so both
/// kinds follow the same rules.
/// </summary>
internal sealed class TextTokenizer
{
    public const string ByteBpeKind = "byte-bpe";
    public const string SentencePieceKind = "sentencepiece";
    public const string TokenizerJsonKind = "tokenizer-json";

    /// <summary>A model imported without tokenizer files: usable on token ids (benchmarks), refused on text.</summary>
    public const string NoneKind = "none";

    public const string VocabFileName = "vocab.json";
    public const string MergesFileName = "merges.txt";
    public const string SentencePieceFileName = "tokenizer.model";
    public const string TokenizerJsonFileName = "tokenizer.json";

    private readonly Tokenizer? _inner;
    private HfTokenizer? _hfTokenizer;
    private readonly bool _addPrefixSpace;

    private TextTokenizer(string kind, Tokenizer? inner, int vocabSize, int? bosId, int? eosId, int? padId,
        bool addBos, bool addEos, bool addPrefixSpace)
    {
        Kind = kind;
        _inner = inner;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
        AddsBos = addBos;
        AddsEos = addEos;
        _addPrefixSpace = addPrefixSpace;
    }

    /// <summary>"byte-bpe", "sentencepiece", or "none" (no text; token ids only).</summary>
    public string Kind { get; }

    /// <summary>
    /// One more than the largest token id, special ids included: the smallest logits width a model built on
    /// this vocabulary can have (models often pad their embedding table beyond it).
    /// </summary>
    public int VocabSize { get; }

    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }

    /// <summary>Whether <see cref="Encode"/> starts with <see cref="BosId"/> (left truncation keeps it).</summary>
    public bool AddsBos { get; }

    /// <summary>Whether <see cref="Encode"/> ends with <see cref="EosId"/>.</summary>
    public bool AddsEos { get; }

    /// <summary>
    /// Builds the tokenizer of a model folder. The files are those named in <paramref name="info"/>
    /// (matched by file name), or the kind's usual names in the folder when the list names none.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file the kind needs is absent; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file cannot be read as its kind; the message names it and says why.</exception>
    public static TextTokenizer Open(string modelFolder, TokenizerInfo info)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        ArgumentNullException.ThrowIfNull(info);
        string kind = string.IsNullOrEmpty(info.Kind) ? GuessKind(modelFolder, info) : info.Kind;
        return kind switch
        {
            NoneKind => new TextTokenizer(NoneKind, null, 0, info.BosId, info.EosId, info.PadId, false, false, false) { Folder = modelFolder },
            ByteBpeKind => OpenByteBpe(
                FindFile(modelFolder, info, VocabFileName, kind),
                FindFile(modelFolder, info, MergesFileName, kind),
                info),
            SentencePieceKind => OpenSentencePiece(FindFile(modelFolder, info, SentencePieceFileName, kind), info),
            TokenizerJsonKind => OpenTokenizerJson(FindFile(modelFolder, info, TokenizerJsonFileName, kind), info),
            _ => throw Malformed(
                $"Tokenizer kind '{info.Kind}' in {ModelManifest.FileName} is not supported (expected '{ByteBpeKind}', '{SentencePieceKind}', '{TokenizerJsonKind}' or '{NoneKind}')."),
        };
    }

    /// <summary>The folder of a tokenizer-less model, for the message that names it.</summary>
    private string? Folder { get; init; }

    private Tokenizer Inner => _inner ?? throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
        $"{Folder}: this model folder has no tokenizer (imported without tokenizer files), so it cannot read or write text; " +
        "it runs on token ids only (benchmarks)", Folder, "tokenizer",
        hint: "import again with the tokenizer files (vocab.json and merges.txt, or tokenizer.model) beside the ONNX model");

    /// <summary>Token ids of <paramref name="text"/> with BOS/EOS as the tokenizer info asks.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int[] body = EncodeNoSpecial(text);
        if (!AddsBos && !AddsEos)
        {
            return body;
        }
        var ids = new int[body.Length + (AddsBos ? 1 : 0) + (AddsEos ? 1 : 0)];
        int at = 0;
        if (AddsBos)
        {
            ids[at++] = BosId!.Value;
        }
        body.CopyTo(ids, at);
        if (AddsEos)
        {
            ids[^1] = EosId!.Value;
        }
        return ids;
    }

    /// <summary>Token ids of <paramref name="text"/> alone: no BOS, no EOS.</summary>
    public int[] EncodeNoSpecial(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Hugging Face's slow GPT-2 tokenizer (MeZO loads tokenizers with use_fast=False) prepends the
        // space unconditionally, even before text that already starts with one.
        string toEncode = _addPrefixSpace ? " " + text : text;
        return _hfTokenizer is { } hf ? hf.Encode(toEncode) : [.. Inner.EncodeToIds(toEncode)];
    }

    /// <summary>The text of <paramref name="ids"/>, leaving out BOS, EOS and padding.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var kept = new List<int>(ids.Length);
        foreach (int id in ids)
        {
            if (id != BosId && id != EosId && id != PadId)
            {
                kept.Add(id);
            }
        }
        string text = Inner.Decode(kept) ?? string.Empty;
        return _addPrefixSpace && text.StartsWith(' ') ? text[1..] : text;
    }

    private static string GuessKind(string modelFolder, TokenizerInfo info)
    {
        bool Has(string name) =>
            info.Files.Any(f => Path.GetFileName(f) == name) || File.Exists(Path.Combine(modelFolder, name));

        if (Has(SentencePieceFileName))
        {
            return SentencePieceKind;
        }
        if (Has(TokenizerJsonFileName))
        {
            return TokenizerJsonKind;
        }
        if (Has(VocabFileName) && Has(MergesFileName))
        {
            return ByteBpeKind;
        }
        throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.TokenizerFileMissing,
            $"No tokenizer in {modelFolder}: expected {SentencePieceFileName}, or {VocabFileName} with {MergesFileName}.", modelFolder, "tokenizer");
    }

    private static string FindFile(string modelFolder, TokenizerInfo info, string name, string kind)
    {
        string relative = info.Files.FirstOrDefault(f => Path.GetFileName(f) == name) ?? name;
        string path = Path.Combine(modelFolder, relative);
        if (!File.Exists(path))
        {
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.TokenizerFileMissing,
                $"Tokenizer file {path} is missing (a '{kind}' tokenizer needs it).", path, "tokenizer.files");
        }
        return path;
    }

    private static TextTokenizer OpenByteBpe(string vocabPath, string mergesPath, TokenizerInfo info)
    {
        Dictionary<string, int> vocab = ReadVocab(vocabPath);
        List<string> merges = ReadMerges(mergesPath);

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                // GPT-2's split ('s|'t|...| ?\p{L}+| ?\p{N}+|...), the pattern tiktoken calls r50k/p50k.
                PreTokenizer = RobertaPreTokenizer.Instance,
            });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // The vocabulary parsed, so what the library rejects is a merge naming an unknown token.
            throw Malformed($"Malformed tokenizer file {mergesPath}: {e.Message}", e);
        }

        RequireSpecialIds(info, info.BosId, info.EosId, vocabPath);
        // Special tokens may live outside vocab.json (Qwen2's <|endoftext|> is an added token, one past the
        // file's last id), so they count towards the vocabulary size.
        int?[] specialIds = [info.BosId, info.EosId, info.PadId, info.UnkId];
        int vocabSize = Math.Max(vocab.Values.Max(), specialIds.Max() ?? 0) + 1;
        if (specialIds.Any(id => id < 0))
        {
            throw Malformed($"The tokenizer info gives a negative special token id (tokenizer {vocabPath}).");
        }
        return new TextTokenizer(ByteBpeKind, bpe, vocabSize, info.BosId, info.EosId, info.PadId,
            info.AddBos, info.AddEos, info.AddPrefixSpace);
    }

    private static Dictionary<string, int> ReadVocab(string path)
    {
        Dictionary<string, int>? vocab;
        try
        {
            using FileStream stream = File.OpenRead(path);
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(stream);
        }
        catch (JsonException e)
        {
            throw Malformed(
                $"Malformed tokenizer file {path}: expected a JSON object mapping token strings to integer ids ({e.Message})", e);
        }
        if (vocab is null || vocab.Count == 0)
        {
            throw Malformed($"Malformed tokenizer file {path}: the vocabulary is empty.");
        }
        if (vocab.Values.Any(id => id < 0))
        {
            throw Malformed($"Malformed tokenizer file {path}: token ids must be non-negative.");
        }
        // Without a token for every single byte, text with that byte would be silently dropped.
        for (int b = 0; b < 256; b++)
        {
            string symbol = Gpt2ByteAlphabet.ForByte((byte)b).ToString();
            if (!vocab.ContainsKey(symbol))
            {
                throw Malformed(
                    $"Malformed tokenizer file {path}: byte 0x{b:X2} (spelled '{symbol}') has no token; a byte-level vocabulary needs all 256.");
            }
        }
        return vocab;
    }

    private static List<string> ReadMerges(string path)
    {
        var merges = new List<string>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            {
                throw Malformed(
                    $"Malformed tokenizer file {path}:{lineNumber}: expected two tokens separated by one space, found \"{line}\".");
            }
            merges.Add(line);
        }
        return merges;
    }

    private static TextTokenizer OpenSentencePiece(string modelPath, TokenizerInfo info)
    {
        SentencePieceTokenizer sp;
        try
        {
            using FileStream stream = File.OpenRead(modelPath);
            sp = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever the library trips over in a damaged file, the user needs the file's name.
            throw Malformed(
                $"Malformed tokenizer file {modelPath}: not a SentencePiece BPE or unigram model ({e.Message})", e);
        }
        if (sp.Vocabulary.Count == 0)
        {
            throw Malformed($"Malformed tokenizer file {modelPath}: the model has no pieces.");
        }

        int vocabSize = sp.Vocabulary.Values.Max() + 1;
        int bosId = info.BosId ?? sp.BeginningOfSentenceId;
        int eosId = info.EosId ?? sp.EndOfSentenceId;
        RequireIdsInVocab(info with { BosId = bosId, EosId = eosId }, vocabSize, modelPath);
        return new TextTokenizer(SentencePieceKind, sp, vocabSize, bosId, eosId, info.PadId,
            info.AddBos, info.AddEos, addPrefixSpace: false);
    }

    private static TextTokenizer OpenTokenizerJson(string path, TokenizerInfo info)
    {
        var loaded = HfTokenizerJson.Load(path);
        RequireSpecialIds(info, info.BosId, info.EosId, path);
        RequireIdsInVocab(info, loaded.VocabSize, path);
        return new TextTokenizer(TokenizerJsonKind, loaded.Inner, loaded.VocabSize, info.BosId, info.EosId, info.PadId,
            info.AddBos, info.AddEos, addPrefixSpace: false) { _hfTokenizer = loaded };
    }

    private static void RequireSpecialIds(TokenizerInfo info, int? bosId, int? eosId, string path)
    {
        if (info.AddBos && bosId is null)
        {
            throw Malformed($"The tokenizer info asks for BOS but gives no bos_id (tokenizer {path}).");
        }
        if (info.AddEos && eosId is null)
        {
            throw Malformed($"The tokenizer info asks for EOS but gives no eos_id (tokenizer {path}).");
        }
    }

    private static void RequireIdsInVocab(TokenizerInfo info, int vocabSize, string path)
    {
        foreach ((string name, int? id) in new[] { ("bos_id", info.BosId), ("eos_id", info.EosId), ("pad_id", info.PadId), ("unk_id", info.UnkId) })
        {
            if (id is int value && (value < 0 || value >= vocabSize))
            {
                throw Malformed(
                    $"The tokenizer info's {name} {value} is outside the vocabulary of {path} (0..{vocabSize - 1}).");
            }
        }
    }

    /// <summary>A tokenizer file or setting OrtZo cannot use; the message names the file.</summary>
    private static OrtZoException Malformed(string message, Exception? inner = null) =>
        new(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer, message, subject: "tokenizer", inner: inner);
}
