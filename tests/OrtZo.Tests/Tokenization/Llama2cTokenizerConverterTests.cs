using OrtZo.Tools;
using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// llama2.c tokenizer.bin → SentencePiece tokenizer.model, checked three ways: against llama2.c's own encoding
/// algorithm, against Google's SentencePiece on the converted file (golden ids), and by decoding back.
/// </summary>
public class Llama2cTokenizerConverterTests
{
    private static readonly string[] MoreSentences =
    [
        "Once upon a time, there was a little girl named Lily.",
        "She loved to play outside in the sunshine with her dog, Max.",
        "\"Can I have a cookie?\" asked Tim. Mom said, \"Yes, but only one!\"",
        "The end.",
        "It was a sunny day, and the birds were singing.",
        "They were happy and played together all day long.",
        "   three leading spaces and two  inside",
        "line one\nline two\n",
        "Zebra quartz vexed jumpy fowl.",
    ];

    private static TextTokenizer OpenConverted(TokenizerFixtures.TempFolder folder)
    {
        Llama2cTokenizerConverter.Convert(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin"), folder.File("tokenizer.model"));
        return TextTokenizer.Open(folder.Path, TokenizerFixtures.SentencePieceInfo);
    }

    [Test]
    public void ConversionWritesTheCommittedModelByteForByte()
    {
        // The committed tokenizer.model is the file SentencePiece produced the golden ids from.
        using var folder = TokenizerFixtures.NewTempFolder();
        Llama2cTokenizerConverter.Convert(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin"), folder.File("tokenizer.model"));
        Assert.That(File.ReadAllBytes(folder.File("tokenizer.model")),
            Is.EqualTo(File.ReadAllBytes(TokenizerFixtures.PathOf("stories260k", "tokenizer.model"))));
    }

    [Test]
    public void EncodesLikeLlama2cItself()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        TextTokenizer tokenizer = OpenConverted(folder);
        var reference = new ReferenceLlama2cEncoder(File.ReadAllBytes(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin")));
        foreach (string text in TokenizerFixtures.GoldenTexts().Concat(MoreSentences))
        {
            Assert.That(tokenizer.EncodeNoSpecial(text), Is.EqualTo(reference.Encode(text)), $"text: {text}");
        }
    }

    [Test]
    public void EncodesLikeGoogleSentencePiece()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        TextTokenizer tokenizer = OpenConverted(folder);
        foreach ((string text, int[] ids) in TokenizerFixtures.ReadGolden("sentencepiece_golden.json"))
        {
            Assert.That(tokenizer.EncodeNoSpecial(text), Is.EqualTo(ids), $"text: {text}");
        }
    }

    [Test]
    public void DecodeRoundTrips()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        TextTokenizer tokenizer = OpenConverted(folder);
        foreach (string text in TokenizerFixtures.GoldenTexts().Concat(MoreSentences))
        {
            Assert.That(tokenizer.Decode(tokenizer.Encode(text)), Is.EqualTo(text));
        }
    }

    [Test]
    public void SpecialIdsComeFromTheModelUnlessTheInfoSaysOtherwise()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        Llama2cTokenizerConverter.Convert(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin"), folder.File("tokenizer.model"));
        TextTokenizer tokenizer = TextTokenizer.Open(folder.Path, TokenizerFixtures.SentencePieceInfo with { AddBos = true, PadId = 0 });
        Assert.That(new[] { tokenizer.BosId, tokenizer.EosId, tokenizer.PadId }, Is.EqualTo(new int?[] { 1, 2, 0 }));
        Assert.That(tokenizer.VocabSize, Is.EqualTo(512));
        Assert.That(tokenizer.Encode("Hello world")[0], Is.EqualTo(1));
        Assert.That(tokenizer.Encode("Hello world")[1..], Is.EqualTo(tokenizer.EncodeNoSpecial("Hello world")));
    }

    [Test]
    public void ModelDeclaresBpeWithByteFallbackAndNoWhitespaceCleanup()
    {
        var model = Llama2cTokenizerConverter.ToModelProto(File.ReadAllBytes(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin")), "tokenizer.bin");
        Assert.That(model.TrainerSpec.ModelType, Is.EqualTo(OrtZo.Tokenization.SentencePieceFormat.TrainerSpec.Types.ModelType.Bpe));
        Assert.That(model.TrainerSpec.ByteFallback, Is.True);
        Assert.That(model.NormalizerSpec.AddDummyPrefix, Is.True);
        Assert.That(model.NormalizerSpec.RemoveExtraWhitespaces, Is.False);
        Assert.That(model.Pieces.Select(p => p.Piece).Take(4), Is.EqualTo(new[] { "<unk>", "<s>", "</s>", "<0x00>" }));
        Assert.That(model.Pieces[259].Piece, Is.EqualTo("\u2581t"), "llama2.c's ' t' is SentencePiece's '▁t'");
    }

    [Test]
    public void TruncatedFileIsRejectedWithItsName()
    {
        byte[] bin = File.ReadAllBytes(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin"));
        var e = Assert.Throws<OrtZoException>(() => Llama2cTokenizerConverter.ToModelProto(bin.AsSpan(0, bin.Length - 3), "cut.bin"))!;
        Assert.That(e.Message, Does.Contain("cut.bin").And.Contain("token 511"));
    }

    [Test]
    public void ImpossibleTokenLengthIsRejected()
    {
        byte[] bin = Build(max: 5, ("<unk>", 0f), ("longer", 0f));
        var e = Assert.Throws<OrtZoException>(() => Llama2cTokenizerConverter.ToModelProto(bin, "long.bin"))!;
        Assert.That(e.Message, Does.Contain("long.bin").And.Contain("token 1 claims 6 bytes"));
    }

    [Test]
    public void MissingBosIsRejected()
    {
        byte[] bin = Build(max: 8, [("<unk>", 0f), .. Enumerable.Range(0, 256).Select(b => ($"<0x{b:X2}>", 0f))]);
        var e = Assert.Throws<OrtZoException>(() => Llama2cTokenizerConverter.ToModelProto(bin, "nobos.bin"))!;
        Assert.That(e.Message, Does.Contain("nobos.bin").And.Contain("<s>"));
    }

    [Test]
    public void MissingByteTokenIsRejected()
    {
        byte[] bin = Build(max: 8, [("<unk>", 0f), ("\n<s>\n", 0f), ("\n</s>\n", 0f), .. Enumerable.Range(0, 255).Select(b => ($"<0x{b:X2}>", 0f))]);
        var e = Assert.Throws<OrtZoException>(() => Llama2cTokenizerConverter.ToModelProto(bin, "bytes.bin"))!;
        Assert.That(e.Message, Does.Contain("<0xFF> is missing"));
    }

    [Test]
    public void DuplicatePieceIsRejected()
    {
        byte[] bin = Build(max: 8, ("<unk>", 0f), ("ab", -1f), ("ab", -2f));
        var e = Assert.Throws<OrtZoException>(() => Llama2cTokenizerConverter.ToModelProto(bin, "dup.bin"))!;
        Assert.That(e.Message, Does.Contain("token 2").And.Contain("repeats token 1"));
    }

    private static byte[] Build(int max, params (string Text, float Score)[] tokens)
    {
        var bytes = new List<byte>();
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, max);
        bytes.AddRange(word.ToArray());
        foreach ((string text, float score) in tokens)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteSingleLittleEndian(word, score);
            bytes.AddRange(word.ToArray());
            BinaryPrimitives.WriteInt32LittleEndian(word, utf8.Length);
            bytes.AddRange(word.ToArray());
            bytes.AddRange(utf8);
        }
        return [.. bytes];
    }
}
