using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>Every way a tokenizer folder can be wrong gives an error that names the file at fault.</summary>
public class TextTokenizerErrorTests
{
    private static TokenizerFixtures.TempFolder CopyOfGpt2Subset()
    {
        var folder = TokenizerFixtures.NewTempFolder();
        foreach (string name in new[] { "vocab.json", "merges.txt" })
        {
            File.Copy(Path.Combine(TokenizerFixtures.Gpt2SubsetFolder, name), folder.File(name));
        }
        return folder;
    }

    [Test]
    public void MissingMergesFileIsNamed()
    {
        using var folder = CopyOfGpt2Subset();
        File.Delete(folder.File("merges.txt"));
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("merges.txt")));
    }

    [Test]
    public void MissingSentencePieceModelIsNamed()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.SentencePieceInfo))!;
        Assert.That(e.Message, Does.Contain("tokenizer.model"));
    }

    [Test]
    public void FolderWithoutAnyTokenizerIsReported()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, new TokenizerInfo { Kind = "", Files = [] }))!;
        Assert.That(e.Message, Does.Contain("tokenizer.model").And.Contain("vocab.json"));
    }

    [Test]
    public void VocabThatIsNotJsonIsNamed()
    {
        using var folder = CopyOfGpt2Subset();
        File.WriteAllText(folder.File("vocab.json"), "{\"a\": 1,");
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("vocab.json")));
    }

    [Test]
    public void VocabWithoutEveryByteIsNamed()
    {
        using var folder = CopyOfGpt2Subset();
        File.WriteAllText(folder.File("vocab.json"), "{\"a\": 0, \"b\": 1}");
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("vocab.json")).And.Contain("byte 0x00"));
    }

    [Test]
    public void MalformedMergeLineIsNamedWithItsLine()
    {
        using var folder = CopyOfGpt2Subset();
        File.WriteAllText(folder.File("merges.txt"), "#version: 0.2\nĠ t\nthree parts here\n");
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("merges.txt") + ":3"));
    }

    [Test]
    public void MergeOfAnUnknownTokenIsNamed()
    {
        using var folder = CopyOfGpt2Subset();
        File.WriteAllText(folder.File("merges.txt"), "#version: 0.2\nqqq zzz\n");
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("merges.txt")).And.Contain("qqq"));
    }

    [Test]
    public void SentencePieceModelThatIsNotProtobufIsNamed()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        File.WriteAllBytes(folder.File("tokenizer.model"), [0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.SentencePieceInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("tokenizer.model")));
    }

    [Test]
    public void EmptySentencePieceModelIsNamed()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        File.WriteAllBytes(folder.File("tokenizer.model"), []);
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(folder.Path, TokenizerFixtures.SentencePieceInfo))!;
        Assert.That(e.Message, Does.Contain(folder.File("tokenizer.model")));
    }

    [Test]
    public void UnknownKindIsReported()
    {
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(TokenizerFixtures.Gpt2SubsetFolder, new TokenizerInfo { Kind = "wordpiece", Files = [] }))!;
        Assert.That(e.Message, Does.Contain("wordpiece"));
    }

    [Test]
    public void BosRequestedWithoutAnIdIsReported()
    {
        var info = TokenizerFixtures.ByteBpeInfo with { AddBos = true };
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(TokenizerFixtures.Gpt2SubsetFolder, info))!;
        Assert.That(e.Message, Does.Contain("bos_id"));
    }

    [Test]
    public void SpecialIdOutsideTheSentencePieceVocabularyIsReported()
    {
        var info = TokenizerFixtures.SentencePieceInfo with { PadId = 600 };
        var e = Assert.Throws<OrtZoException>(() => TextTokenizer.Open(TokenizerFixtures.Stories260kFolder, info))!;
        Assert.That(e.Message, Does.Contain("pad_id 600"));
    }

    [Test]
    public void NegativeByteBpeSpecialIdIsReported()
    {
        var info = TokenizerFixtures.ByteBpeInfo with { EosId = -1, AddEos = true };
        Assert.Throws<OrtZoException>(() => TextTokenizer.Open(TokenizerFixtures.Gpt2SubsetFolder, info));
    }

    [Test]
    public void ATokenizerlessModelOpensButRefusesText()
    {
        using var folder = new OrtZo.Tests.Onnx.TempFolder("notok");
        var tokenizer = TextTokenizer.Open(folder.Path, new TokenizerInfo { Kind = TextTokenizer.NoneKind, Files = [] });
        Assert.That(tokenizer.Kind, Is.EqualTo("none"));
        var e = Assert.Throws<OrtZoException>(() => tokenizer.Encode("hello"))!;
        Assert.That(e.Message, Does.Contain(folder.Path).And.Contain("no tokenizer"));
        Assert.That(e.Reason, Is.EqualTo(OrtZo.Onnx.Model.ModelFolderError.InvalidTokenizer));
    }
}
