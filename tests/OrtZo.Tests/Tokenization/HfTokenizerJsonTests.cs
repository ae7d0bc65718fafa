#if !ORTZO_GPU
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// Hugging Face tokenizer.json through Microsoft.ML.Tokenizers against an independent implementation: the ids
/// onnxruntime-genai 0.20's tokenizer gives, for each supported kind (Fixtures/tokenizers/hf-json, made by
/// make_hf_json.py: GPT-2's, Qwen2's and Llama 3's byte-level splits over one 1024-token vocabulary, and a
/// SentencePiece-style BPE with byte fallback from stories260K's vocabulary). The corpus: the 30 golden texts
/// (contractions, digits, whitespace runs, accents, emoji, CJK, empty), runs of one letter (where merge ranks and
/// SentencePiece scores part ways) and texts around each kind's added tokens (llama2's "&lt;/s&gt;" takes the spaces after it, rstrip, as Phi-3's does).
/// </summary>
public class HfTokenizerJsonTests
{
    private static string Folder(string kind) => Path.Combine(TestPaths.Fixtures, "tokenizers", "hf-json", kind);

    private static IEnumerable<string> Corpus(string kind) => TokenizerCorpus.Texts(kind switch
    {
        "gpt2" => ["<|endoftext|>"],
        "qwen2" => ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        "llama3" => ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
        _ => ["<s>", "</s>", "<unk>"],
    });

    [TestCase("gpt2", false)]
    [TestCase("qwen2", false)]
    [TestCase("llama3", true)]
    [TestCase("llama2", true)]
    public void IdsEqualOnnxruntimeGenAisTokenizer(string kind, bool addsBos)
    {
        var (info, _) = TokenizerDiscovery.Discover(new SourceConfigFiles(Folder(kind)), new ImportOptions());
        Assert.That(info.Kind, Is.EqualTo(TextTokenizer.TokenizerJsonKind));
        Assert.That(info.AddBos, Is.EqualTo(addsBos), "add_bos_token from tokenizer_config.json");
        var tokenizer = TextTokenizer.Open(Folder(kind), info);
        using var reference = new GenAiReference(Folder(kind));
        int texts = 0, tokens = 0;
        var mismatches = new List<string>();
        foreach (string text in Corpus(kind))
        {
            int[] expected = reference.Encode(text);
            int[] actual = tokenizer.EncodeNoSpecial(text);
            texts++;
            tokens += expected.Length;
            if (!actual.SequenceEqual(expected))
                mismatches.Add($"{JsonSerializer.Serialize(text)}: OrtZo [{string.Join(" ", actual)}], GenAI [{string.Join(" ", expected)}]");
            int[] withSpecials = tokenizer.Encode(text);
            Assert.That(withSpecials, Is.EqualTo(addsBos ? new[] { info.BosId!.Value }.Concat(actual) : actual));
        }
        var notRoundTripped = Corpus(kind).Where(t => !t.Contains('<') && tokenizer.Decode(tokenizer.EncodeNoSpecial(t)) != t).ToList();
        TestContext.Out.WriteLine($"{kind}: {texts} texts, {tokens} tokens; {mismatches.Count} differ; {notRoundTripped.Count} do not decode back: {string.Join(" | ", notRoundTripped.Take(3).Select(t => JsonSerializer.Serialize(t)))}");
        foreach (var m in mismatches.Take(10)) TestContext.Out.WriteLine(m);
        Assert.That(mismatches, Is.Empty);
        Assert.That(texts, Is.GreaterThan(35));
        Assert.That(notRoundTripped, Is.Empty, "decoding gives the text back");
    }

    /// <summary>The same vocabulary read as vocab.json + merges.txt splits with GPT-2's regex: wrong for Qwen2 and Llama 3 (digits, contractions, newlines).</summary>
    [TestCase("qwen2")]
    [TestCase("llama3")]
    public void GptTwosSplitOfTheSameVocabularyDiffersWhereTheFamilysSplitDoes(string kind)
    {
        var byteBpe = TextTokenizer.Open(Path.Combine(TestPaths.Fixtures, "tokenizers", "hf-json"),
            new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = ["vocab.json", "merges.txt"] });
        using var reference = new GenAiReference(Folder(kind));
        var differing = Corpus(kind).Where(t => !t.Contains("<|", StringComparison.Ordinal))
            .Count(t => !byteBpe.EncodeNoSpecial(t).SequenceEqual(reference.Encode(t)));
        TestContext.Out.WriteLine($"{kind}: GPT-2's split differs from the family's on {differing} texts");
        Assert.That(differing, Is.GreaterThanOrEqualTo(3));
    }

    [Test]
    public void UnsupportedModelsAreRefusedNamingTheFileAndField()
    {
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-json-refused");
        string path = folder.File("tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}""");
        var e = Assert.Throws<OrtZoException>(() => HfTokenizerJson.Load(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("model.type").And.Contain("'Unigram'"));
        File.WriteAllText(path, """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "ByteLevel"}]}}""");
        e = Assert.Throws<OrtZoException>(() => HfTokenizerJson.Load(path));
        Assert.That(e!.Message, Does.Contain("pre_tokenizer").And.Contain("'Sequence' is not supported"));
    }
}
#endif