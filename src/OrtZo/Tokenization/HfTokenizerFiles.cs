using System.Text.Encodings.Web;
using System.Text.Json;
using OrtZo.Onnx.Model;

namespace OrtZo.Tokenization;

/// <summary>
/// Writes a model folder's tokenizer as the Hugging Face files onnxruntime-genai reads (tokenizer.json and
/// tokenizer_config.json), converted as transformers' converters do, so that they encode as <see cref="TextTokenizer"/>
/// does on the folder:
/// <list type="bullet">
/// <item>"sentencepiece" (BPE models only): LlamaConverter's form. Vocabulary from the pieces with their ids, merges
/// of every piece split into two pieces ordered by the merged piece's score (SentencePieceExtractor), byte_fallback,
/// the unknown piece, a Prepend("▁") + Replace(" ", "▁") normalizer (onnxruntime-genai reads this legacy form as
/// Llama 2's own tokenizer.json has it) and the decoder that undoes it;</item>
/// <item>"byte-bpe": GPT-2's form, vocab.json + merges.txt under a ByteLevel pre-tokenizer (GPT-2's split, the
/// one <see cref="TextTokenizer"/> uses for this kind whatever the family) and decoder; refused with add_prefix_space,
/// which onnxruntime-genai ignores;</item>
/// <item>"tokenizer-json": copied, with its tokenizer_config.json when the folder has one.</item>
/// </list>
/// The BOS, EOS, pad and unknown tokens become special added tokens, except a byte-level one whose text ordinary
/// text encodes to (a synthetic export may name "!" its BOS): matched in the text, it would split words around it.
/// </summary>
internal static class HfTokenizerFiles
{
    public const string TokenizerJsonFileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    /// <summary>transformers' VERY_LARGE_INTEGER: what it writes as model_max_length when nothing bounds the length.</summary>
    private const string UnboundedLength = "1000000000000000019884624838656";

    private const string Metaspace = "\u2581";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // "▁", "Ġ" and the other non-ASCII vocabulary stays readable, as transformers writes it (ensure_ascii=False).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes tokenizer.json and tokenizer_config.json for the tokenizer of <paramref name="modelFolder"/> into
    /// <paramref name="destinationFolder"/> (created if needed) and returns the names of the files written.
    /// </summary>
    /// <exception cref="OrtZoException">The folder has no tokenizer, a file is missing or malformed, or the tokenizer is
    /// one these files cannot reproduce (a SentencePiece Unigram model); the message names the file and field.</exception>
    public static IReadOnlyList<string> Write(string modelFolder, TokenizerInfo info, string destinationFolder)
    {
        ArgumentNullException.ThrowIfNull(modelFolder);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(destinationFolder);
        Directory.CreateDirectory(destinationFolder);
        string tokenizerPath = Path.Combine(destinationFolder, TokenizerJsonFileName);
        string configPath = Path.Combine(destinationFolder, ConfigFileName);
        switch (info.Kind)
        {
            case TextTokenizer.SentencePieceKind:
            {
                string model = FindFile(modelFolder, info, TextTokenizer.SentencePieceFileName);
                var converted = FromSentencePiece(model, info);
                File.WriteAllBytes(tokenizerPath, converted.Json);
                WriteConfig(configPath, modelFolder, info, "LlamaTokenizer", converted.TextOf, extra: w => w.WriteBoolean("legacy", true));
                break;
            }
            case TextTokenizer.ByteBpeKind:
            {
                var converted = FromByteBpe(FindFile(modelFolder, info, TextTokenizer.VocabFileName),
                    FindFile(modelFolder, info, TextTokenizer.MergesFileName), modelFolder, info);
                File.WriteAllBytes(tokenizerPath, converted.Json);
                WriteConfig(configPath, modelFolder, info, "GPT2Tokenizer", converted.TextOf, extra: w => w.WriteBoolean("add_prefix_space", false));
                break;
            }
            case TextTokenizer.TokenizerJsonKind:
            {
                string source = FindFile(modelFolder, info, TextTokenizer.TokenizerJsonFileName);
                File.Copy(source, tokenizerPath, overwrite: true);
                string? existing = info.Files.Select(f => Path.Combine(modelFolder, f)).Append(Path.Combine(modelFolder, ConfigFileName))
                    .FirstOrDefault(p => Path.GetFileName(p) == ConfigFileName && File.Exists(p));
                if (existing is not null)
                {
                    File.Copy(existing, configPath, overwrite: true);
                }
                else
                {
                    var texts = TokenTextsOfTokenizerJson(source);
                    WriteConfig(configPath, modelFolder, info, "PreTrainedTokenizerFast", id => texts.GetValueOrDefault(id));
                }
                break;
            }
            default:
                throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                    $"{Path.Combine(modelFolder, ModelManifest.FileName)}: tokenizer.kind is '{info.Kind}', so there is no tokenizer to write as " +
                    $"{TokenizerJsonFileName}; expected '{TextTokenizer.SentencePieceKind}', '{TextTokenizer.ByteBpeKind}' or '{TextTokenizer.TokenizerJsonKind}'.",
                    Path.Combine(modelFolder, ModelManifest.FileName), "tokenizer.kind",
                    hint: "import the model again with its tokenizer files (tokenizer.model, vocab.json + merges.txt, or tokenizer.json)");
        }
        return [TokenizerJsonFileName, ConfigFileName];
    }

    private sealed record Converted(byte[] Json, Func<int, string?> TextOf);

    private static Converted FromSentencePiece(string path, TokenizerInfo info)
    {
        var model = SentencePieceModelReader.Read(path);
        if (model.ModelType != SentencePieceModel.Bpe)
            throw Unsupported(path, "trainer_spec.model_type",
                $"a SentencePiece {SentencePieceModel.ModelTypeName(model.ModelType)} model cannot be written as tokenizer.json here; only SentencePiece BPE models (Llama 2, Mistral) are supported");
        // transformers' converter turns only these normalizer settings into tokenizer.json steps onnxruntime-genai runs;
        // any other would write a tokenizer that splits text unlike the model's own.
        if (model.HasCharsMap)
            throw Unsupported(path, "normalizer_spec.precompiled_charsmap", $"the '{model.NormalizerName}' normalization map is not supported (expected 'identity', no map)");
        if (model.RemoveExtraWhitespaces)
            throw Unsupported(path, "normalizer_spec.remove_extra_whitespaces", "collapsing whitespace is not supported (expected false, as Llama 2's model has it)");
        if (!model.EscapeWhitespaces)
            throw Unsupported(path, "normalizer_spec.escape_whitespaces", "spaces not escaped to \"▁\" are not supported (expected true)");

        var pieces = model.Pieces;
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Count; id++)
        {
            if (!vocab.TryAdd(pieces[id].Text, id))
                throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                    $"Malformed tokenizer file {path}: pieces {vocab[pieces[id].Text]} and {id} are both {JsonSerializer.Serialize(pieces[id].Text)}.", path, "pieces");
        }
        bool byteFallback = model.ByteFallback;
        if (byteFallback)
        {
            for (int b = 0; b < 256; b++)
                if (!vocab.ContainsKey($"<0x{b:X2}>"))
                    throw Unsupported(path, "pieces", $"byte_fallback is on but there is no <0x{b:X2}> piece");
        }
        string unk = model.UnkId >= 0 && model.UnkId < pieces.Count ? pieces[model.UnkId].Text : "<unk>";
        string? TextOf(int id) => id >= 0 && id < pieces.Count ? pieces[id].Text : null;
        int bosId = info.BosId ?? model.BosId, eosId = info.EosId ?? model.EosId;

        // SpmConverter: control and unknown pieces are special added tokens, user-defined ones plain added tokens
        // (SentencePiece matches those in the text too); LlamaConverter adds the unknown, BOS and EOS pieces.
        var added = new SortedDictionary<int, bool>();
        for (int id = 0; id < pieces.Count; id++)
        {
            if (pieces[id].Type is SentencePieceModel.ControlPiece or SentencePieceModel.UnknownPiece) added[id] = true;
            else if (pieces[id].Type == SentencePieceModel.UserDefinedPiece) added[id] = false;
        }
        foreach (int? id in new int?[] { model.UnkId, bosId, eosId, info.PadId, info.UnkId })
            if (id is int value && value >= 0 && value < pieces.Count && pieces[value].Type != SentencePieceModel.NormalPiece) added[value] = true;

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            WriteHeader(w);
            WriteAddedTokens(w, added.Select(a => (a.Key, pieces[a.Key].Text, a.Value)));
            w.WriteStartObject("normalizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("normalizers");
            if (model.AddDummyPrefix)
            {
                w.WriteStartObject();
                w.WriteString("type", "Prepend");
                w.WriteString("prepend", Metaspace);
                w.WriteEndObject();
            }
            WriteReplace(w, " ", Metaspace);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNull("pre_tokenizer");
            WritePostProcessor(w, info, TextOf(bosId), bosId, TextOf(eosId), eosId);
            w.WriteStartObject("decoder");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("decoders");
            WriteReplace(w, Metaspace, " ");
            if (byteFallback) WriteType(w, "ByteFallback");
            WriteType(w, "Fuse");
            if (model.AddDummyPrefix)
            {
                w.WriteStartObject();
                w.WriteString("type", "Strip");
                w.WriteString("content", " ");
                w.WriteNumber("start", 1);
                w.WriteNumber("stop", 0);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            WriteBpeModel(w, unk, fuseUnknown: true, byteFallback, vocab.Select(v => (v.Key, v.Value)), SentencePieceMerges(pieces, vocab));
            w.WriteEndObject();
        }
        return new Converted(buffer.ToArray(), TextOf);
    }

    /// <summary>
    /// transformers' SentencePieceExtractor with the piece scores: for each piece in id order, its splits into two pieces
    /// (ordered by the ids of the left, then the right piece), all of them then stably sorted by the merged piece's
    /// score, highest first, which is the order SentencePiece's BPE merges in.
    /// </summary>
    private static IEnumerable<string> SentencePieceMerges(IReadOnlyList<SentencePiece> pieces, Dictionary<string, int> vocab)
    {
        var merges = new List<(float Score, string Merge)>();
        foreach (var piece in pieces)
        {
            var local = new List<(int Left, int Right, string Merge)>();
            string text = piece.Text;
            for (int k = 1; k < text.Length; k++)
            {
                // A split inside a surrogate pair would name half a character, which no piece is.
                if (char.IsLowSurrogate(text[k])) continue;
                if (vocab.TryGetValue(text[..k], out int left) && vocab.TryGetValue(text[k..], out int right))
                    local.Add((left, right, text[..k] + " " + text[k..]));
            }
            merges.AddRange(local.OrderBy(m => m.Left).ThenBy(m => m.Right).Select(m => (piece.Score, m.Merge)));
        }
        return merges.OrderByDescending(m => m.Score).Select(m => m.Merge);
    }

    private static Converted FromByteBpe(string vocabPath, string mergesPath, string modelFolder, TokenizerInfo info)
    {
        // onnxruntime-genai 0.20 ignores ByteLevel's add_prefix_space (and a Prepend normalizer) in byte-level BPE, so
        // no tokenizer.json makes it put the space in front that the model saw in every text it was tuned on.
        if (info.AddPrefixSpace)
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                $"{Path.Combine(modelFolder, ModelManifest.FileName)}: tokenizer.add_prefix_space is true, which onnxruntime-genai's byte-level " +
                "tokenizer does not honour: it would encode every text without the leading space OrtZo adds; expected false for a GenAI tokenizer.json.",
                Path.Combine(modelFolder, ModelManifest.FileName), "tokenizer.add_prefix_space",
                hint: "export the model without the GenAI folder form, or tokenize its prompts with a leading space yourself");
        Dictionary<string, int>? vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath));
        }
        catch (JsonException e)
        {
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                $"Malformed tokenizer file {vocabPath}: expected a JSON object mapping token strings to integer ids ({e.Message}).", vocabPath, "vocab", inner: e);
        }
        if (vocab is null || vocab.Count == 0)
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                $"Malformed tokenizer file {vocabPath}: the vocabulary is empty.", vocabPath, "vocab");
        var merges = new List<string>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(mergesPath))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                    $"Malformed tokenizer file {mergesPath}:{lineNumber}: expected two tokens separated by one space, found \"{line}\".", mergesPath, "merges", lineNumber);
            merges.Add(line);
        }

        var byId = vocab.GroupBy(v => v.Value).ToDictionary(g => g.Key, g => g.First().Key);
        var extraTexts = SpecialTextsOutsideVocab(modelFolder, info);
        string? TextOf(int id) => byId.TryGetValue(id, out var text) ? text : extraTexts.GetValueOrDefault(id);
        var merged = merges.Select(m => m.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        bool Ordinary(string text) => text.Length == 1 || merged.Contains(text);

        var added = new SortedDictionary<int, string>();
        foreach ((string field, int? id) in new[] { ("bos_id", info.BosId), ("eos_id", info.EosId), ("pad_id", info.PadId), ("unk_id", info.UnkId) })
        {
            if (id is not int value) continue;
            string text = TextOf(value) ?? throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                $"{Path.Combine(modelFolder, ModelManifest.FileName)}: tokenizer.{field} {value} is not in {vocabPath}, and no {ConfigFileName} or special_tokens_map.json " +
                "in the folder gives its text; expected an id of the vocabulary or an added token named there.",
                Path.Combine(modelFolder, ModelManifest.FileName), $"tokenizer.{field}");
            // onnxruntime-genai finds the BOS/EOS it adds among the added tokens only, so those stay even when ordinary.
            bool prepended = (info.AddBos && value == info.BosId) || (info.AddEos && value == info.EosId);
            if (prepended || !byId.ContainsKey(value) || !Ordinary(text)) added[value] = text;
        }

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            WriteHeader(w);
            WriteAddedTokens(w, added.Select(a => (a.Key, a.Value, true)));
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            WriteByteLevelFields(w, addPrefixSpace: false, trimOffsets: true);
            w.WriteEndObject();
            WritePostProcessor(w, info, info.BosId is int b ? TextOf(b) : null, info.BosId ?? -1, info.EosId is int e ? TextOf(e) : null, info.EosId ?? -1);
            w.WriteStartObject("decoder");
            WriteByteLevelFields(w, addPrefixSpace: true, trimOffsets: true);
            w.WriteEndObject();
            WriteBpeModel(w, unk: null, fuseUnknown: false, byteFallback: false, vocab.OrderBy(v => v.Value).Select(v => (v.Key, v.Value)), merges);
            w.WriteEndObject();
        }
        return new Converted(buffer.ToArray(), TextOf);
    }

    /// <summary>
    /// Texts of special ids beyond vocab.json (Qwen2's &lt;|endoftext|&gt; is an added token one past the file's last
    /// id): tokenizer_config.json's added_tokens_decoder, then the *_token entries of it and of special_tokens_map.json.
    /// </summary>
    private static Dictionary<int, string> SpecialTextsOutsideVocab(string modelFolder, TokenizerInfo info)
    {
        var result = new Dictionary<int, string>();
        var config = new SourceConfigFiles(modelFolder);
        if (config.Element(ConfigFileName) is { } root && root.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in decoder.EnumerateObject())
                if (int.TryParse(entry.Name, out int id) && entry.Value.ValueKind == JsonValueKind.Object
                    && entry.Value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    result.TryAdd(id, content.GetString()!);
        }
        foreach ((string name, int? id) in new[] { ("bos_token", info.BosId), ("eos_token", info.EosId), ("pad_token", info.PadId), ("unk_token", info.UnkId) })
            if (id is int value && (config.TokenText(ConfigFileName, name) ?? config.TokenText("special_tokens_map.json", name)) is { } text)
                result.TryAdd(value, text);
        return result;
    }

    /// <summary>Token texts by id from tokenizer.json's added_tokens and model vocabulary (an object for BPE, a list of [piece, score] for Unigram).</summary>
    private static Dictionary<int, string> TokenTextsOfTokenizerJson(string path)
    {
        var result = new Dictionary<int, string>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                $"Malformed tokenizer file {path}: not valid JSON ({e.Message}).", path, "tokenizer.json", inner: e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return result;
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
                foreach (var token in added.EnumerateArray())
                    if (token.ValueKind == JsonValueKind.Object && token.TryGetProperty("id", out var id) && id.TryGetInt32(out int value)
                        && token.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                        result.TryAdd(value, content.GetString()!);
            if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object && model.TryGetProperty("vocab", out var vocab))
            {
                if (vocab.ValueKind == JsonValueKind.Object)
                {
                    foreach (var entry in vocab.EnumerateObject())
                        if (entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetInt32(out int value)) result.TryAdd(value, entry.Name);
                }
                else if (vocab.ValueKind == JsonValueKind.Array)
                {
                    int index = 0;
                    foreach (var entry in vocab.EnumerateArray())
                    {
                        if (entry.ValueKind == JsonValueKind.Array && entry.GetArrayLength() > 0 && entry[0].ValueKind == JsonValueKind.String)
                            result.TryAdd(index, entry[0].GetString()!);
                        index++;
                    }
                }
            }
        }
        return result;
    }

    private static void WriteConfig(string path, string modelFolder, TokenizerInfo info, string tokenizerClass, Func<int, string?> textOf,
        Action<Utf8JsonWriter>? extra = null)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, WriterOptions);
        w.WriteStartObject();
        w.WriteString("tokenizer_class", tokenizerClass);
        w.WriteBoolean("add_bos_token", info.AddBos);
        w.WriteBoolean("add_eos_token", info.AddEos);
        foreach ((string name, int? id) in new[] { ("bos_token", info.BosId), ("eos_token", info.EosId), ("unk_token", info.UnkId), ("pad_token", info.PadId) })
        {
            if (id is int value && textOf(value) is { } text) w.WriteString(name, text);
            else w.WriteNull(name);
        }
        w.WritePropertyName("model_max_length");
        w.WriteRawValue(ModelMaxLength(modelFolder));
        // transformers' default would strip spaces before punctuation on decode, which the tokenizer itself never does.
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        extra?.Invoke(w);
        w.WriteEndObject();
    }

    /// <summary>The source's own tokenizer_config.json value, else ortzo.json's max_length, else config.json's positions.</summary>
    private static string ModelMaxLength(string modelFolder)
    {
        var config = new SourceConfigFiles(modelFolder);
        if (config.Int(ConfigFileName, "model_max_length") is int given) return given.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string manifest = Path.Combine(modelFolder, ModelManifest.FileName);
        if (File.Exists(manifest))
        {
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(manifest));
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("max_length", out var max) && max.TryGetInt32(out int length))
                    return length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (JsonException)
            {
                // The manifest was read when the folder was opened; a copy that no longer parses only loses this bound.
            }
        }
        return config.Int("config.json", "max_position_embeddings") is int positions
            ? positions.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : UnboundedLength;
    }

    private static void WriteHeader(Utf8JsonWriter w)
    {
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
    }

    private static void WriteAddedTokens(Utf8JsonWriter w, IEnumerable<(int Id, string Content, bool Special)> tokens)
    {
        w.WriteStartArray("added_tokens");
        foreach (var (id, content, special) in tokens)
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", content);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", special);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// BOS/EOS as the tokenizer info adds them (TemplateProcessing, as LlamaConverter writes for add_bos_token), else
    /// none. Not GPT-2's ByteLevel post-processor, which only trims offsets: onnxruntime-genai turns BOS or EOS on when
    /// their text occurs anywhere in the post-processor's JSON, even with add_bos_token false, and a byte-level BOS may
    /// well be the quote character.
    /// </summary>
    private static void WritePostProcessor(Utf8JsonWriter w, TokenizerInfo info, string? bos, int bosId, string? eos, int eosId)
    {
        bool addBos = info.AddBos && bos is not null, addEos = info.AddEos && eos is not null;
        if (!addBos && !addEos)
        {
            w.WriteNull("post_processor");
            return;
        }
        void Special(string token, int typeId)
        {
            w.WriteStartObject();
            w.WriteStartObject("SpecialToken");
            w.WriteString("id", token);
            w.WriteNumber("type_id", typeId);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        void Sequence(string id, int typeId)
        {
            w.WriteStartObject();
            w.WriteStartObject("Sequence");
            w.WriteString("id", id);
            w.WriteNumber("type_id", typeId);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteStartObject("post_processor");
        w.WriteString("type", "TemplateProcessing");
        w.WriteStartArray("single");
        if (addBos) Special(bos!, 0);
        Sequence("A", 0);
        if (addEos) Special(eos!, 0);
        w.WriteEndArray();
        w.WriteStartArray("pair");
        if (addBos) Special(bos!, 0);
        Sequence("A", 0);
        if (addEos) Special(eos!, 0);
        if (addBos) Special(bos!, 1);
        Sequence("B", 1);
        if (addEos) Special(eos!, 1);
        w.WriteEndArray();
        w.WriteStartObject("special_tokens");
        foreach (var (token, id) in new[] { (addBos ? bos : null, bosId), (addEos ? eos : null, eosId) }.Where(t => t.Item1 is not null).DistinctBy(t => t.Item1))
        {
            w.WriteStartObject(token!);
            w.WriteString("id", token);
            w.WriteStartArray("ids");
            w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteStartArray("tokens");
            w.WriteStringValue(token);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteByteLevelFields(Utf8JsonWriter w, bool addPrefixSpace, bool trimOffsets)
    {
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", trimOffsets);
        w.WriteBoolean("use_regex", true);
    }

    private static void WriteBpeModel(Utf8JsonWriter w, string? unk, bool fuseUnknown, bool byteFallback,
        IEnumerable<(string Token, int Id)> vocab, IEnumerable<string> merges)
    {
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        if (unk is null) w.WriteNull("unk_token");
        else w.WriteString("unk_token", unk);
        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", fuseUnknown);
        w.WriteBoolean("byte_fallback", byteFallback);
        w.WriteBoolean("ignore_merges", false);
        w.WriteStartObject("vocab");
        foreach (var (token, id) in vocab) w.WriteNumber(token, id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (string merge in merges) w.WriteStringValue(merge);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteType(Utf8JsonWriter w, string type)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteEndObject();
    }

    private static void WriteReplace(Utf8JsonWriter w, string pattern, string content)
    {
        w.WriteStartObject();
        w.WriteString("type", "Replace");
        w.WriteStartObject("pattern");
        w.WriteString("String", pattern);
        w.WriteEndObject();
        w.WriteString("content", content);
        w.WriteEndObject();
    }

    private static string FindFile(string modelFolder, TokenizerInfo info, string name)
    {
        string relative = info.Files.FirstOrDefault(f => Path.GetFileName(f) == name) ?? name;
        string path = Path.Combine(modelFolder, relative);
        if (!File.Exists(path))
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.TokenizerFileMissing,
                $"Tokenizer file {path} is missing (a '{info.Kind}' tokenizer needs it to write {TokenizerJsonFileName}).", path, "tokenizer.files");
        return path;
    }

    private static OrtZoException Unsupported(string path, string field, string why) =>
        new(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer, $"{path}: {field}: {why}.", path, field,
            hint: "tokenizer.json can be written for SentencePiece BPE models (tokenizer.model with model_type BPE), byte-level BPE " +
                  "(vocab.json + merges.txt) and folders that already have a tokenizer.json");
}
