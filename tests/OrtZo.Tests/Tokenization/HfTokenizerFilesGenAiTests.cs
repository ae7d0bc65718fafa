#if !ORTZO_GPU
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// The tokenizer.json + tokenizer_config.json <see cref="HfTokenizerFiles"/> writes, read by onnxruntime-genai 0.20
/// (the tokenizer a GenAI export runs with) and by OrtZo's own tokenizer.json reader, against OrtZo's tokenizer on
/// the model folder they were written from: stories260k (SentencePiece BPE with byte fallback) and the shared
/// hf-exports (byte-level BPE, vocab.json + merges.txt). Corpus: <see cref="TokenizerCorpus"/> around the model's
/// special token texts.
/// <para>
/// Hugging Face and GenAI match special tokens in the text; OrtZo's SentencePiece and vocab.json tokenizers read
/// them as text. For a text that names one, the expected ids are therefore OrtZo's ids of each stretch between the
/// special tokens with the special ids between them, which is what transformers' tokenizers (the fast ones this file
/// is for, and MeZO's slow ones) give.
/// </para>
/// </summary>
public class HfTokenizerFilesGenAiTests
{
    [TestCase("stories260k")]
    [TestCase("llama")]
    [TestCase("opt")]
    [TestCase("qwen2")]
    [TestCase("byte-level+bos+eos")]
    public void WrittenFilesEncodeAndDecodeAsTheModelFoldersTokenizer(string model)
    {
        var (folder, info) = Source(model);
        var (texts, _, decoded) = CompareThreeWays(model, folder, info, []);
        Assert.That(texts, Is.GreaterThan(40));
        Assert.That(decoded, Is.GreaterThan(30), "most of the corpus decodes back through OrtZo, so GenAI's decoding is checked on it");
    }

    /// <summary>
    /// stories260K's piece scores fall with the piece id, so merges in id order would pass above too. Here they part:
    /// a SentencePiece BPE model over "▁", "a" and "b" whose merged pieces' scores run against their ids, and texts of
    /// those letters, where the merge order decides the pieces (other characters fall back to bytes).
    /// </summary>
    [Test]
    public void MergesFollowThePieceScoresNotTheirIds()
    {
        using var source = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-scores");
        var writer = new SentencePieceModelWriter();
        writer.AddPiece("<unk>", 0, SentencePieceModelWriter.Unknown);
        writer.AddPiece("<s>", 0, SentencePieceModelWriter.Control);
        writer.AddPiece("</s>", 0, SentencePieceModelWriter.Control);
        for (int b = 0; b < 256; b++) writer.AddPiece($"<0x{b:X2}>", 0, SentencePieceModelWriter.Byte);
        var merged = new (string Piece, float Score)[] { ("ab", -5), ("▁ab", -6), ("▁a", -3), ("aa", -2), ("ba", -1), ("bab", -0.5f), ("▁b", -4), ("▁ba", -4.5f) };
        foreach (var (piece, score) in merged) writer.AddPiece(piece, score, SentencePieceModelWriter.Normal);
        foreach (var (piece, score) in new[] { ("▁", -100f), ("a", -101f), ("b", -102f) }) writer.AddPiece(piece, score, SentencePieceModelWriter.Normal);
        writer.SetTrainerSpec(3 + 256 + merged.Length + 3, byteFallback: true, unkId: 0, bosId: 1, eosId: 2);
        writer.SetNormalizerSpec(addDummyPrefix: true);
        File.WriteAllBytes(source.File("tokenizer.model"), writer.ToArray());
        var info = new TokenizerInfo { Kind = TextTokenizer.SentencePieceKind, Files = ["tokenizer.model"], BosId = 1, EosId = 2, UnkId = 0, AddBos = true };

        // "aab" is ▁ aa b by score and ▁a ab by id. Words where one pair occurs twice and merging either first leads
        // elsewhere ("babab", "aaaaaaaaa") are left out: there the three implementations break ties each their own way
        // (Microsoft.ML.Tokenizers not leftmost first, GenAI merging every occurrence of a pair at once), whatever the files say.
        string[] letters = ["aab", "aab aab", "ab ba aab", "a b ab ba", "baab aaba", "abba abba", " ba", "bab ab", "aabab", "ba aab  aab"];
        var (_, tokens, decoded) = CompareThreeWays("scores against ids", source.Path, info, letters);
        Assert.That(decoded, Is.GreaterThan(30));
        Assert.That(tokens, Is.GreaterThan(1000));
    }

    private static (int Texts, int Tokens, int Decoded) CompareThreeWays(string model, string folder, TokenizerInfo info, IEnumerable<string> extraTexts)
    {
        var ours = TextTokenizer.Open(folder, info);
        using var written = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        var names = HfTokenizerFiles.Write(folder, info, written.Path);
        Assert.That(names, Is.EquivalentTo(new[] { "tokenizer.json", "tokenizer_config.json" }));
        Assert.That(Directory.GetFiles(written.Path).Select(Path.GetFileName), Is.EquivalentTo(names));

        var config = JsonDocument.Parse(File.ReadAllText(written.File("tokenizer_config.json"))).RootElement;
        Assert.That(config.GetProperty("add_bos_token").GetBoolean(), Is.EqualTo(info.AddBos));
        Assert.That(config.GetProperty("add_eos_token").GetBoolean(), Is.EqualTo(info.AddEos));
        // The special tokens matched in the text are those OrtZo does not encode to themselves (SentencePiece's
        // "<s>", byte-level "<|endoftext|>"); one it does ("!" as a synthetic export's BOS) must stay plain text.
        var specials = new (string Name, int? Id)[] { ("bos_token", info.BosId), ("eos_token", info.EosId), ("unk_token", info.UnkId), ("pad_token", info.PadId) }
            .Where(s => s.Id is not null && config.GetProperty(s.Name).ValueKind == JsonValueKind.String)
            .Select(s => (Text: config.GetProperty(s.Name).GetString()!, Id: s.Id!.Value)).Distinct().ToList();
        var matched = specials.Where(s => !ours.EncodeNoSpecial(s.Text).SequenceEqual([s.Id])).ToDictionary(s => s.Text, s => s.Id);
        var added = AddedTokens(written.File("tokenizer.json"));
        foreach (var (text, id) in matched)
            Assert.That(added.GetValueOrDefault(text), Is.EqualTo(id), $"{text} is an added token with its id");

        var reader = HfTokenizerJson.Load(written.File("tokenizer.json"));
        using var genAi = new GenAiReference(written.Path);
        int texts = 0, tokens = 0, namingSpecials = 0, readLiterally = 0, decoded = 0;
        var mismatches = new List<string>();
        var corpus = TokenizerCorpus.Texts([.. specials.Select(sp => sp.Text)]).Concat(extraTexts).ToList();
        foreach (string text in corpus)
        {
            bool hasSpecial = matched.Keys.Any(t => text.Contains(t, StringComparison.Ordinal));
            int[] expected = hasSpecial ? SegmentWise(ours, matched, text) : ours.EncodeNoSpecial(text);
            int[] withSpecials = hasSpecial ? [.. Specials(ours, true), .. expected, .. Specials(ours, false)] : ours.Encode(text);
            texts++;
            tokens += expected.Length;
            if (hasSpecial) namingSpecials++;
            void Compare(string who, int[] actual, int[] wanted)
            {
                if (!actual.SequenceEqual(wanted))
                    mismatches.Add($"{who} {JsonSerializer.Serialize(text)}: [{string.Join(" ", actual)}], OrtZo [{string.Join(" ", wanted)}]");
            }
            Compare("GenAI", genAi.Encode(text), expected);
            Compare("GenAI add_special_tokens", genAi.EncodeWithSpecialTokens(text), withSpecials);
            Compare("HfTokenizerJson", reader.Encode(text), expected);
            if (hasSpecial && !ours.EncodeNoSpecial(text).SequenceEqual(expected)) readLiterally++;
            // GenAI drops SentencePiece's dummy-prefix space only after a special token, so it decodes sequences as
            // the model sees them: with BOS in front where the tokenizer adds it. It decodes a sequence without text
            // to "\uFFFD" (its UTF-8 check takes an empty string for a broken one), so the empty text is left out.
            if (!hasSpecial && text.Length > 0 && ours.Decode(withSpecials) == text)
            {
                decoded++;
                string back = genAi.Decode(withSpecials);
                if (back != text) mismatches.Add($"GenAI decode {JsonSerializer.Serialize(text)}: {JsonSerializer.Serialize(back)}");
            }
        }
        TestContext.Out.WriteLine($"{model}: {texts} texts ({namingSpecials} naming special tokens {string.Join(" ", matched.Keys)}, " +
                                  $"{readLiterally} of them encoded otherwise by OrtZo, which reads special tokens as text), {tokens} tokens " +
                                  $"compared three ways; {decoded} decoded by GenAI; {mismatches.Count} mismatches");
        foreach (var m in mismatches.Take(15)) TestContext.Out.WriteLine(m);
        Assert.That(mismatches, Is.Empty);
        return (texts, tokens, decoded);
    }

    /// <summary>
    /// The model folder and its tokenizer info; "byte-level+bos+eos" covers what the shared exports do not: BOS and EOS
    /// added around byte-level BPE, and a byte-level special token matched in the text (the fixture vocabulary with
    /// &lt;|endoftext|&gt;, id 0, as both).
    /// </summary>
    internal static (string Folder, TokenizerInfo Info) Source(string model)
    {
        if (model == "stories260k")
            return (TestPaths.Stories260k, ModelFolder.ReadManifest(Path.Combine(TestPaths.Stories260k, ModelManifest.FileName)).Tokenizer);
        if (model == "byte-level+bos+eos")
            return (Path.Combine(TestPaths.Fixtures, "tokenizers", "hf-json"), new TokenizerInfo
            {
                Kind = TextTokenizer.ByteBpeKind, Files = ["vocab.json", "merges.txt"], BosId = 0, EosId = 0, AddBos = true, AddEos = true,
            });
        string folder = Path.Combine(TestPaths.SharedData, "hf-exports", model);
        if (!Directory.Exists(folder))
            Assert.Ignore($"{folder} is absent (../shared/data beside the checkout)");
        return (folder, TokenizerDiscovery.Discover(new SourceConfigFiles(folder), new ImportOptions()).Info);
    }

    private static Dictionary<string, int> AddedTokens(string tokenizerJson)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(tokenizerJson));
        return document.RootElement.GetProperty("added_tokens").EnumerateArray()
            .ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
    }

    /// <summary>Added tokens matched first (longest at each position), the stretches between them encoded by OrtZo.</summary>
    private static int[] SegmentWise(TextTokenizer ours, Dictionary<string, int> added, string text)
    {
        var ids = new List<int>();
        var byLength = added.OrderByDescending(a => a.Key.Length).ToList();
        int start = 0, at = 0;
        while (at < text.Length)
        {
            var match = byLength.FirstOrDefault(a => string.CompareOrdinal(text, at, a.Key, 0, a.Key.Length) == 0);
            if (match.Key is null)
            {
                at++;
                continue;
            }
            if (at > start) ids.AddRange(ours.EncodeNoSpecial(text[start..at]));
            ids.Add(match.Value);
            at = start = at + match.Key.Length;
        }
        if (start < text.Length) ids.AddRange(ours.EncodeNoSpecial(text[start..]));
        return [.. ids];
    }

    private static int[] Specials(TextTokenizer ours, bool front) =>
        front ? (ours.AddsBos ? [ours.BosId!.Value] : []) : (ours.AddsEos ? [ours.EosId!.Value] : []);
}
#endif
