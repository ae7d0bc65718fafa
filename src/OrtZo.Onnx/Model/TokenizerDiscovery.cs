namespace OrtZo.Onnx.Model;

/// <summary>
/// Chooses the tokenizer files to copy beside an imported model and fills <see cref="TokenizerInfo"/>.
/// Kind: "byte-bpe" with vocab.json + merges.txt, "sentencepiece" with tokenizer.model, "tokenizer-json" with
/// only tokenizer.json, "none" without any. Special ids, first found wins: <see cref="ImportOptions"/>,
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
        string kind = present.Contains("vocab.json") && present.Contains("merges.txt") ? "byte-bpe"
            : present.Contains("tokenizer.model") ? "sentencepiece"
            : present.Contains("tokenizer.json") ? "tokenizer-json"
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
            AddBos = config.Bool("tokenizer_config.json", "add_bos_token") ?? kind == "sentencepiece",
            AddEos = config.Bool("tokenizer_config.json", "add_eos_token") ?? false,
            AddPrefixSpace = config.Bool("tokenizer_config.json", "add_prefix_space") ?? false,
        };
        return (discovered, present.Select(f => (Path.Combine(config.Directory, f), f)).ToList());
    }

    private static int? Lookup(SourceConfigFiles config, string? text) => text is null ? null : config.TokenId(text);
}
