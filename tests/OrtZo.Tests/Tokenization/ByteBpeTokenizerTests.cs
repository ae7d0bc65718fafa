using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>The "byte-bpe" TextTokenizer against GPT-2 itself (golden ids from tiktoken) and encoder.py's algorithm.</summary>
public class ByteBpeTokenizerTests
{
    private static TextTokenizer Gpt2(TokenizerInfo? info = null) =>
        TextTokenizer.Open(TokenizerFixtures.Gpt2SubsetFolder, info ?? TokenizerFixtures.ByteBpeInfo);

    [Test]
    public void EncodesLikeGpt2OnEveryGoldenText()
    {
        TextTokenizer tokenizer = Gpt2();
        foreach ((string text, int[] ids) in TokenizerFixtures.ReadGolden("gpt2_golden.json"))
        {
            Assert.That(tokenizer.Encode(text), Is.EqualTo(ids), $"text: {text}");
        }
    }

    [Test]
    public void ReferenceAlgorithmAgreesWithGoldenIds()
    {
        // Guards the oracle used on trained vocabularies: encoder.py's algorithm reproduces tiktoken here too.
        var reference = new ReferenceGpt2Bpe(
            File.ReadAllText(Path.Combine(TokenizerFixtures.Gpt2SubsetFolder, "vocab.json")),
            File.ReadAllText(Path.Combine(TokenizerFixtures.Gpt2SubsetFolder, "merges.txt")));
        foreach ((string text, int[] ids) in TokenizerFixtures.ReadGolden("gpt2_golden.json"))
        {
            Assert.That(reference.Encode(text), Is.EqualTo(ids), $"text: {text}");
        }
    }

    [Test]
    public void DecodeRoundTripsEveryGoldenText()
    {
        TextTokenizer tokenizer = Gpt2();
        foreach ((string text, int[] ids) in TokenizerFixtures.ReadGolden("gpt2_golden.json"))
        {
            Assert.That(tokenizer.Decode(ids), Is.EqualTo(text));
        }
    }

    [Test]
    public void AddsBosAndEosFromTheInfo()
    {
        TextTokenizer tokenizer = Gpt2(TokenizerFixtures.ByteBpeInfo with { AddBos = true, AddEos = true, BosId = 50256, EosId = 50256, PadId = 50256 });
        Assert.That(tokenizer.Encode("Hello world"), Is.EqualTo(new[] { 50256, 15496, 995, 50256 }));
        Assert.That(tokenizer.EncodeNoSpecial("Hello world"), Is.EqualTo(new[] { 15496, 995 }));
        Assert.That(tokenizer.Decode([50256, 15496, 995, 50256]), Is.EqualTo("Hello world"));
        Assert.That(tokenizer.AddsBos, Is.True);
        Assert.That(new[] { tokenizer.BosId, tokenizer.EosId, tokenizer.PadId }, Is.EqualTo(new int?[] { 50256, 50256, 50256 }));
    }

    [Test]
    public void PrefixSpaceIsAlwaysPrepended()
    {
        // Hugging Face's slow GPT-2 tokenizer, which MeZO uses, prepends the space even before a space.
        TextTokenizer tokenizer = Gpt2(TokenizerFixtures.ByteBpeInfo with { AddPrefixSpace = true });
        Assert.That(tokenizer.Encode("Hello world"), Is.EqualTo(new[] { 18435, 995 }));
        Assert.That(tokenizer.Decode(tokenizer.Encode("Hello world")), Is.EqualTo("Hello world"));
    }

    [Test]
    public void VocabSizeIsOneMoreThanTheLargestId()
    {
        Assert.That(Gpt2().VocabSize, Is.EqualTo(50257));
    }

    [Test]
    public void SpecialTokensBeyondVocabJsonCountTowardsTheVocabulary()
    {
        // Qwen2-style: <|endoftext|> is an added token one past vocab.json's last id.
        TextTokenizer tokenizer = Gpt2(TokenizerFixtures.ByteBpeInfo with { AddEos = true, EosId = 50300 });
        Assert.That(tokenizer.VocabSize, Is.EqualTo(50301));
        Assert.That(tokenizer.Encode("Hello world"), Is.EqualTo(new[] { 15496, 995, 50300 }));
        Assert.That(tokenizer.Decode(tokenizer.Encode("Hello world")), Is.EqualTo("Hello world"));
    }

    [Test]
    public void KindIsGuessedFromTheFilesWhenTheInfoGivesNone()
    {
        TextTokenizer tokenizer = Gpt2(new TokenizerInfo { Kind = "", Files = [] });
        Assert.That(tokenizer.Kind, Is.EqualTo(TextTokenizer.ByteBpeKind));
        Assert.That(tokenizer.Encode("Hello world"), Is.EqualTo(new[] { 15496, 995 }));
    }
}
