using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// The shape of what <see cref="HfTokenizerFiles"/> writes (against the project's Python rendering of transformers'
/// LlamaConverter, Fixtures/tokenizers/hf-json/llama2, made from the same stories260K vocabulary), which special
/// tokens become added tokens, and what it refuses.
/// </summary>
public class HfTokenizerFilesTests
{
    private static string HfJson(params string[] parts) => Path.Combine([TestPaths.Fixtures, "tokenizers", "hf-json", .. parts]);

    [Test]
    public void SentencePieceBpeIsWrittenAsLlamaConverterWritesIt()
    {
        var info = ModelFolder.ReadManifest(Path.Combine(TestPaths.Stories260k, ModelManifest.FileName)).Tokenizer;
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        HfTokenizerFiles.Write(TestPaths.Stories260k, info, folder.Path);
        var written = JsonNode.Parse(File.ReadAllText(folder.File("tokenizer.json")))!;
        var reference = JsonNode.Parse(File.ReadAllText(HfJson("llama2", "tokenizer.json")))!;

        Assert.That(written["model"]!["vocab"]!.AsObject().Select(v => (v.Key, (int)v.Value!)),
            Is.EqualTo(reference["model"]!["vocab"]!.AsObject().Select(v => (v.Key, (int)v.Value!))), "pieces with their ids");
        var merges = written["model"]!["merges"]!.AsArray().Select(m => (string)m!).ToList();
        Assert.That(merges, Is.EqualTo(reference["model"]!["merges"]!.AsArray().Select(m => (string)m!)), "merges by the merged piece's score");
        Assert.That(merges, Has.Count.GreaterThan(100));
        foreach (string field in new[] { "normalizer", "decoder" })
            Assert.That(written[field]!.ToJsonString(), Is.EqualTo(reference[field]!.ToJsonString()), field);
        foreach (string field in new[] { "type", "unk_token", "byte_fallback", "fuse_unk" })
            Assert.That(written["model"]![field]!.ToJsonString(), Is.EqualTo(reference["model"]![field]!.ToJsonString()), "model." + field);
        Assert.That(written["added_tokens"]!.AsArray().Select(t => ((int)t!["id"]!, (string)t["content"]!, (bool)t["special"]!)),
            Is.EqualTo(new[] { (0, "<unk>", true), (1, "<s>", true), (2, "</s>", true) }));
        Assert.That(written["post_processor"]!["single"]!.ToJsonString(), Is.EqualTo(reference["post_processor"]!["single"]!.ToJsonString()), "BOS in front");

        var config = JsonNode.Parse(File.ReadAllText(folder.File("tokenizer_config.json")))!;
        Assert.That(((string)config["tokenizer_class"]!, (string)config["bos_token"]!, (string)config["eos_token"]!, (string)config["unk_token"]!),
            Is.EqualTo(("LlamaTokenizer", "<s>", "</s>", "<unk>")));
        Assert.That(config["pad_token"], Is.Null);
        Assert.That((bool)config["add_bos_token"]!, Is.True);
        Assert.That((int)config["model_max_length"]!, Is.EqualTo(ModelFolder.ReadManifest(Path.Combine(TestPaths.Stories260k, ModelManifest.FileName)).MaxLength));
    }

    /// <summary>A special id whose text ordinary text encodes to ("!") stays out of added_tokens: matched in the text it would split words.</summary>
    [Test]
    public void ByteLevelSpecialsBecomeAddedTokensUnlessOrdinaryTextEncodesToThem()
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(HfJson("vocab.json")))!;
        Assert.That((vocab["<|endoftext|>"], vocab["!"]), Is.EqualTo((0, 1)), "the fixture vocabulary");
        var info = new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = ["vocab.json", "merges.txt"], BosId = 0, EosId = 0, PadId = 1 };
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        HfTokenizerFiles.Write(HfJson(), info, folder.Path);
        var written = JsonNode.Parse(File.ReadAllText(folder.File("tokenizer.json")))!;
        Assert.That(written["added_tokens"]!.AsArray().Select(t => ((int)t!["id"]!, (string)t["content"]!, (bool)t["special"]!)),
            Is.EqualTo(new[] { (0, "<|endoftext|>", true) }));
        Assert.That((string)written["pre_tokenizer"]!["type"]!, Is.EqualTo("ByteLevel"));
        Assert.That((string)written["decoder"]!["type"]!, Is.EqualTo("ByteLevel"));
        Assert.That(written["model"]!["merges"]!.AsArray().Select(m => (string)m!),
            Is.EqualTo(File.ReadLines(HfJson("merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))));
        var config = JsonNode.Parse(File.ReadAllText(folder.File("tokenizer_config.json")))!;
        Assert.That(((string)config["tokenizer_class"]!, (string)config["eos_token"]!, (string)config["pad_token"]!, (bool)config["add_bos_token"]!),
            Is.EqualTo(("GPT2Tokenizer", "<|endoftext|>", "!", false)));
    }

    [Test]
    public void ASpecialIdWithNoTextAnywhereIsRefusedNamingTheField()
    {
        var info = new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = ["vocab.json", "merges.txt"], PadId = 5000 };
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        var e = Assert.Throws<OrtZoException>(() => HfTokenizerFiles.Write(HfJson(), info, folder.Path));
        Assert.That(e!.Message, Does.Contain("tokenizer.pad_id 5000").And.Contain(HfJson("vocab.json")));
        Assert.That(e.Subject, Is.EqualTo("tokenizer.pad_id"));
    }

    /// <summary>onnxruntime-genai ignores ByteLevel's add_prefix_space; see HfTokenizerFiles.FromByteBpe.</summary>
    [Test]
    public void ByteLevelAddPrefixSpaceIsRefusedNamingTheField()
    {
        var info = new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = ["vocab.json", "merges.txt"], AddPrefixSpace = true };
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        var e = Assert.Throws<OrtZoException>(() => HfTokenizerFiles.Write(HfJson(), info, folder.Path));
        Assert.That(e!.Message, Does.Contain(Path.Combine(HfJson(), "ortzo.json")).And.Contain("tokenizer.add_prefix_space"));
        Assert.That(Directory.GetFiles(folder.Path), Is.Empty);
    }

    [Test]
    public void ATokenizerJsonFolderWithoutAConfigGetsOneNamingItsSpecialTokens()
    {
        using var source = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-json");
        File.Copy(HfJson("llama2", "tokenizer.json"), source.File("tokenizer.json"));
        var info = new TokenizerInfo { Kind = TextTokenizer.TokenizerJsonKind, Files = ["tokenizer.json"], BosId = 1, EosId = 2, UnkId = 0, AddBos = true };
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        HfTokenizerFiles.Write(source.Path, info, folder.Path);
        Assert.That(File.ReadAllBytes(folder.File("tokenizer.json")), Is.EqualTo(File.ReadAllBytes(source.File("tokenizer.json"))));
        var config = JsonNode.Parse(File.ReadAllText(folder.File("tokenizer_config.json")))!;
        Assert.That(((string)config["tokenizer_class"]!, (string)config["bos_token"]!, (string)config["eos_token"]!, (string)config["unk_token"]!, (bool)config["add_bos_token"]!),
            Is.EqualTo(("PreTrainedTokenizerFast", "<s>", "</s>", "<unk>", true)));
        Assert.That(config["model_max_length"]!.ToJsonString(), Is.EqualTo("1000000000000000019884624838656"), "nothing in the folder bounds the length");
    }

    [Test]
    public void ASentencePieceUnigramModelIsRefusedNamingTheFile()
    {
        using var source = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-unigram");
        var writer = new SentencePieceModelWriter();
        writer.AddPiece("<unk>", 0, SentencePieceModelWriter.Unknown);
        writer.AddPiece("<s>", 0, SentencePieceModelWriter.Control);
        writer.AddPiece("</s>", 0, SentencePieceModelWriter.Control);
        foreach (var (piece, score) in new[] { ("▁", -1f), ("a", -2f), ("b", -2.5f), ("▁ab", -3f) })
            writer.AddPiece(piece, score, SentencePieceModelWriter.Normal);
        writer.SetTrainerSpec(7, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, modelType: SentencePieceModel.Unigram);
        writer.SetNormalizerSpec(addDummyPrefix: true);
        string model = source.File("tokenizer.model");
        File.WriteAllBytes(model, writer.ToArray());
        var info = new TokenizerInfo { Kind = TextTokenizer.SentencePieceKind, Files = ["tokenizer.model"], BosId = 1, EosId = 2, AddBos = true };
        // OrtZo itself reads the model (Microsoft.ML.Tokenizers takes Unigram too): the refusal is the writer's own.
        Assert.That(TextTokenizer.Open(source.Path, info).EncodeNoSpecial("ab"), Is.Not.Empty);

        using var destination = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        var e = Assert.Throws<OrtZoException>(() => HfTokenizerFiles.Write(source.Path, info, destination.Path));
        Assert.That(e!.Message, Does.Contain(model).And.Contain("trainer_spec.model_type").And.Contain("Unigram").And.Contain("SentencePiece BPE"));
        Assert.That((e.File, e.Subject), Is.EqualTo((model, "trainer_spec.model_type")));
        Assert.That(Directory.GetFiles(destination.Path), Is.Empty, "nothing half-written");
    }

    [Test]
    public void AFolderWithoutATokenizerIsRefusedNamingItsManifest()
    {
        using var destination = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        var info = new TokenizerInfo { Kind = TextTokenizer.NoneKind, Files = [] };
        var e = Assert.Throws<OrtZoException>(() => HfTokenizerFiles.Write(TestPaths.Stories260k, info, destination.Path));
        Assert.That(e!.Message, Does.Contain(Path.Combine(TestPaths.Stories260k, "ortzo.json")).And.Contain("tokenizer.kind").And.Contain("'none'"));
    }

    [Test]
    public void ATokenizerJsonFolderIsCopiedWithItsConfig()
    {
        var info = new TokenizerInfo { Kind = TextTokenizer.TokenizerJsonKind, Files = ["tokenizer.json", "tokenizer_config.json"], BosId = 1, AddBos = true };
        using var folder = new OrtZo.Tests.Onnx.TempFolder("hf-tokenizer-files");
        var names = HfTokenizerFiles.Write(HfJson("llama2"), info, folder.Path);
        Assert.That(names, Is.EqualTo(new[] { "tokenizer.json", "tokenizer_config.json" }));
        foreach (string name in names)
            Assert.That(File.ReadAllBytes(folder.File(name)), Is.EqualTo(File.ReadAllBytes(HfJson("llama2", name))), name);
    }
}
