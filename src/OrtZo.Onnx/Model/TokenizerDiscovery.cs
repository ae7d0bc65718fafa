namespace OrtZo.Onnx.Model;

/// <summary>
/// Chooses the tokenizer files to copy beside an imported model and fills <see cref="TokenizerInfo"/>.
/// Kind: "sentencepiece" with tokenizer.model, else "tokenizer-json" with tokenizer.json (it carries the
/// pre-tokenizer, which vocab.json + merges.txt do not: Qwen2 and Llama 3 split text unlike GPT-2), else "byte-bpe"
/// with vocab.json + merges.txt, "none" without any. BOS is added when tokenizer_config.json's add_bos_token says
/// so, else when tokenizer.json's post-processor template starts with the BOS token (Llama 3), else for
/// SentencePiece. Special ids, first found wins: <see cref="ImportOptions"/>,
/// generation_config.json, config.json (*_token_id), then the token texts of tokenizer_config.json and
/// special_tokens_map.json looked up in vocab.json / tokenizer.json.
/// </summary>
internal static class TokenizerDiscovery
{
    /// <summary>Files copied when present (config files too: later tools read ids and shapes from them).</summary>
    public static readonly IReadOnlyList<string> KnownFiles =
    [
        "vocab.json", "merges.txt", "tokenizer.model", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "config.json", "generation_config.json",
    ];

    /// <summary>The tokenizer description and the files to copy, as (source path, name in the folder).</summary>
    public static (TokenizerInfo Info, IReadOnlyList<(string Source, string Name)> Files) Discover(SourceConfigFiles config, ImportOptions options)
    {
        if (options.Tokenizer is TokenizerInfo given)
        {
            var copies = options.TokenizerFiles.Select(f => (Path.GetFullPath(f), Path.GetFileName(f))).ToList();
            foreach (var (source, _) in copies)
            {
                if (!File.Exists(source))
                    throw Onnx.OnnxErrors.Fail(Onnx.OnnxError.Unreadable, source, null, "tokenizer file given in the import options does not exist");
            }
            var info = given with
            {
                Files = copies.Select(c => c.Item2).ToList(),
                BosId = options.BosId ?? given.BosId,
                EosId = options.EosId ?? given.EosId,
                PadId = options.PadId ?? given.PadId,
            };
            return (info, copies);
        }

        var present = KnownFiles.Where(f => File.Exists(Path.Combine(config.Directory, f))).ToList();
        string kind = present.Contains("tokenizer.model") ? "sentencepiece"
            : present.Contains("tokenizer.json") ? "tokenizer-json"
            : present.Contains("vocab.json") && present.Contains("merges.txt") ? "byte-bpe"
            : "none";
        int? Id(string numeric, string text) =>
            config.Int("generation_config.json", numeric) ?? config.Int("config.json", numeric)
            ?? Lookup(config, config.TokenText("tokenizer_config.json", text) ?? config.TokenText("special_tokens_map.json", text));

        var discovered = new TokenizerInfo
        {
            Kind = kind,
            Files = present,
            BosId = options.BosId ?? Id("bos_token_id", "bos_token"),
            EosId = options.EosId ?? Id("eos_token_id", "eos_token"),
            PadId = options.PadId ?? Id("pad_token_id", "pad_token"),
            UnkId = Lookup(config, config.TokenText("tokenizer_config.json", "unk_token") ?? config.TokenText("special_tokens_map.json", "unk_token")),
            AddBos = config.Bool("tokenizer_config.json", "add_bos_token")
                ?? (kind == "tokenizer-json" ? TemplateStartsWith(config, config.TokenText("tokenizer_config.json", "bos_token")) : kind == "sentencepiece"),
            AddEos = config.Bool("tokenizer_config.json", "add_eos_token") ?? false,
            AddPrefixSpace = config.Bool("tokenizer_config.json", "add_prefix_space") ?? false,
        };
        return (discovered, present.Select(f => (Path.Combine(config.Directory, f), f)).ToList());
    }

    /// <summary>Whether tokenizer.json's post-processor puts <paramref name="bos"/> in front of a single sequence.</summary>
    private static bool TemplateStartsWith(SourceConfigFiles config, string? bos)
    {
        if (bos is null || config.Element("tokenizer.json") is not { } tokenizer) return false;
        var processors = new List<System.Text.Json.JsonElement>();
        if (tokenizer.TryGetProperty("post_processor", out var post) && post.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            if (post.TryGetProperty("processors", out var list) && list.ValueKind == System.Text.Json.JsonValueKind.Array) processors.AddRange(list.EnumerateArray());
            else processors.Add(post);
        }
        foreach (var processor in processors)
            if (processor.TryGetProperty("single", out var single) && single.ValueKind == System.Text.Json.JsonValueKind.Array && single.GetArrayLength() > 0
                && single[0].TryGetProperty("SpecialToken", out var special) && special.TryGetProperty("id", out var id) && id.GetString() == bos)
                return true;
        return false;
    }

    private static int? Lookup(SourceConfigFiles config, string? text) => text is null ? null : config.TokenId(text);
}
