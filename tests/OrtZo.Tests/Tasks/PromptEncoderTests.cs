using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Tasks;
using OrtZo.Tests.Tokenization;
using OrtZo.Tokenization;

using OrtZo;
namespace OrtZo.Tests.Tasks;

/// <summary>MeZO's encode_prompt: option lengths, the rows scored, whitespace handling and left truncation.</summary>
public class PromptEncoderTests
{
    /// <summary>Where the error points: "file:line" for a data file, the example otherwise.</summary>
    private static string Location(OrtZoException e) => e.Line is { } line ? $"{e.File}:{line}" : e.Message[..e.Message.IndexOf(": ", StringComparison.Ordinal)];

    private static TextTokenizer Gpt2() => TextTokenizer.Open(TokenizerFixtures.Gpt2SubsetFolder, TokenizerFixtures.ByteBpeInfo);

    [Test]
    public void Sst2OptionIsTheVerbalizerToken()
    {
        // GPT-2 ids from gpt2_golden.json: "... It was great" ends 632 (" It"), 373 (" was"), 1049 (" great").
        TemplatedExample example = MezoTemplates.Sst2("it 's a charming and often affecting journey . ", 1);
        EncodedExample encoded = PromptEncoder.Encode(example, Gpt2(), 2048, "example 0");
        Assert.That(encoded.Rows[1], Is.EqualTo(new[] { 270, 705, 82, 257, 23332, 290, 1690, 13891, 7002, 764, 632, 373, 1049 }));
        Assert.That(encoded.Rows[0][^1], Is.EqualTo(7818), "\" terrible\"");
        Assert.That(encoded.OptionLengths, Is.EqualTo(new[] { 1, 1 }));
        Assert.That(encoded.Gold, Is.EqualTo(1));
        Assert.That(encoded.ScoredSpan(1), Is.EqualTo((12, 1)));
    }

    [Test]
    public void NewlineEndingPromptKeepsItsNewline()
    {
        TemplatedExample example = MezoTemplates.Rte("No Weapons of Mass Destruction Found in Iraq Yet.", "Weapons of Mass Destruction Found in Iraq.", 1);
        EncodedExample encoded = PromptEncoder.Encode(example, Gpt2(), 2048, "example 0");
        int[] golden = TokenizerFixtures.ReadGolden("gpt2_golden.json").Single(g => g.Text.StartsWith("No Weapons")).Ids;
        Assert.That(encoded.Rows[1], Is.EqualTo(golden));
        Assert.That(encoded.Rows[1][^2..], Is.EqualTo(new[] { 198, 2949 }), "\"\\n\" then \"No\"");
        Assert.That(encoded.OptionLengths, Is.EqualTo(new[] { 1, 1 }));
    }

    [Test]
    public void CopaOptionLengthCountsTheWholeChoice()
    {
        TextTokenizer tokenizer = Gpt2();
        TemplatedExample example = MezoTemplates.Copa("The chandelier shattered on the floor.", "The chandelier dropped from the ceiling.", "Nothing happened.", askEffect: false, 0);
        EncodedExample encoded = PromptEncoder.Encode(example, tokenizer, 2048, "example 0");
        int promptTokens = tokenizer.Encode("The chandelier shattered on the floor because").Length;
        Assert.That(encoded.Rows[0], Is.EqualTo(tokenizer.Encode("The chandelier shattered on the floor because the chandelier dropped from the ceiling.")));
        Assert.That(encoded.OptionLengths[0], Is.EqualTo(encoded.Rows[0].Length - promptTokens));
    }

    [Test]
    public void SpacesAreStrippedButOnlyTheRowLosesLeadingNewlines()
    {
        // encode_prompt: option lengths from text.strip(' '); the row from ("\n\n" + text).lstrip().
        TextTokenizer tokenizer = Gpt2();
        var example = new TemplatedExample("  \n hello", [" world  "], 0);
        EncodedExample encoded = PromptEncoder.Encode(example, tokenizer, 2048, "example 0");
        Assert.That(encoded.OptionLengths[0], Is.EqualTo(tokenizer.Encode("\n hello world").Length - tokenizer.Encode("\n hello").Length));
        Assert.That(encoded.Rows[0], Is.EqualTo(tokenizer.Encode("hello world")));
    }

    [Test]
    public void LeftTruncationKeepsBos()
    {
        using var folder = TokenizerFixtures.NewTempFolder();
        Llama2cTokenizerConverter.Convert(TokenizerFixtures.PathOf("stories260k", "tokenizer.bin"), folder.File("tokenizer.model"));
        TextTokenizer tokenizer = TextTokenizer.Open(folder.Path, TokenizerFixtures.SentencePieceInfo with { AddBos = true });
        TemplatedExample example = MezoTemplates.Sst2("Once upon a time, there was a little girl named Lily.", 1);
        int[] full = tokenizer.Encode(example.Prompt + example.Candidates[1]);
        EncodedExample encoded = PromptEncoder.Encode(example, tokenizer, 8, "example 0");
        Assert.That(full.Length, Is.GreaterThan(8));
        Assert.That(encoded.Rows[1], Is.EqualTo(new[] { 1 }.Concat(full[^7..])));
    }

    [Test]
    public void LeftTruncationWithoutBosKeepsTheEnd()
    {
        TextTokenizer tokenizer = Gpt2();
        TemplatedExample example = MezoTemplates.Sst2("it 's a charming and often affecting journey . ", 1);
        EncodedExample encoded = PromptEncoder.Encode(example, tokenizer, 5, "example 0");
        Assert.That(encoded.Rows[1], Is.EqualTo(new[] { 7002, 764, 632, 373, 1049 }));
    }

    [Test]
    public void TruncationIntoTheOptionScoresEveryPositionAfterTheFirst()
    {
        var example = new EncodedExample([[10, 11, 12]], [5], 0);
        Assert.That(example.ScoredSpan(0), Is.EqualTo((1, 2)));
    }

    [Test]
    public void CandidateWithoutTokensIsRejected()
    {
        var e = Assert.Throws<OrtZoException>(() => PromptEncoder.Encode(new TemplatedExample("abc", [" "], 0), Gpt2(), 2048, "data.jsonl:7"))!;
        Assert.That((Location(e), e.Subject), Is.EqualTo(("data.jsonl:7", "candidates[0]")));
    }

    [Test]
    public void RowWithNothingToPredictFromIsRejected()
    {
        var e = Assert.Throws<OrtZoException>(() => PromptEncoder.Encode(new TemplatedExample("", ["Hello"], 0), Gpt2(), 2048, "example 3"))!;
        Assert.That(e.Message, Does.Contain("nothing predicts it"));
    }

    [Test]
    public void TaskDataEncodesEveryExampleWithItsSourceInErrors()
    {
        TaskData data = TaskData.Load(TaskFixtures.PathOf("copa.jsonl"), "copa");
        EncodedExample[] encoded = data.Encode(Gpt2(), 64);
        Assert.That(encoded, Has.Length.EqualTo(4));
        Assert.That(encoded.Select(e => e.Gold), Is.EqualTo(new[] { 0, 1, 0, 1 }));
        Assert.That(encoded.SelectMany(e => e.Rows).All(r => r.Length <= 64), Is.True);
    }
}
