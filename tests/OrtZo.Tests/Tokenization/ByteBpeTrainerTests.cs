using OrtZo.Tools;
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

public class ByteBpeTrainerTests
{
    /// <summary>A small mixed corpus: the task fixtures' text plus the tokenizer golden texts.</summary>
    private static List<string> Corpus()
    {
        string tasks = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "tasks");
        return Directory.GetFiles(tasks, "*.jsonl").Order().Concat(Directory.GetFiles(tasks, "*.tsv").Order())
            .SelectMany(File.ReadLines)
            .Concat(TokenizerFixtures.GoldenTexts())
            .ToList();
    }

    [Test]
    public void TrainingIsDeterministic()
    {
        ByteBpeVocabulary first = ByteBpeTrainer.Train(Corpus(), 600);
        ByteBpeVocabulary second = ByteBpeTrainer.Train(Corpus(), 600);
        Assert.That(second.VocabJson, Is.EqualTo(first.VocabJson));
        Assert.That(second.MergesText, Is.EqualTo(first.MergesText));
    }

    [TestCase(257)]
    [TestCase(300)]
    [TestCase(600)]
    public void VocabularyHasExactlyTheRequestedSize(int vocabSize)
    {
        ByteBpeVocabulary trained = ByteBpeTrainer.Train(Corpus(), vocabSize);
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(trained.VocabJson)!;
        Assert.That(vocab, Has.Count.EqualTo(vocabSize));
        Assert.That(vocab.Values.Order(), Is.EqualTo(Enumerable.Range(0, vocabSize)));
        Assert.That(vocab[ByteBpeTrainer.EndOfText], Is.EqualTo(trained.FirstSpecialId).And.EqualTo(vocabSize - 1));
        Assert.That(trained.VocabSize, Is.EqualTo(vocabSize));
    }

    [Test]
    public void TrainedFilesLoadAndRoundTrip()
    {
        ByteBpeVocabulary trained = ByteBpeTrainer.Train(Corpus(), 600);
        using var folder = TokenizerFixtures.NewTempFolder();
        trained.WriteTo(folder.Path);
        TextTokenizer tokenizer = TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo);
        Assert.That(tokenizer.VocabSize, Is.EqualTo(600));
        string[] unseen = ["Zebras zigzag through zany zones.", "naïve 😀 日本語", "  tabs\tand\nnewlines  "];
        foreach (string text in Corpus().Take(40).Concat(unseen))
        {
            Assert.That(tokenizer.Decode(tokenizer.Encode(text)), Is.EqualTo(text));
        }
        Assert.That(tokenizer.Encode("The capital of France is").Length, Is.LessThan("The capital of France is".Length), "merges are used");
    }

    [Test]
    public void LibraryEncodingMatchesEncoderPyOnTheTrainedVocabulary()
    {
        ByteBpeVocabulary trained = ByteBpeTrainer.Train(Corpus(), 600);
        using var folder = TokenizerFixtures.NewTempFolder();
        trained.WriteTo(folder.Path);
        TextTokenizer tokenizer = TextTokenizer.Open(folder.Path, TokenizerFixtures.ByteBpeInfo);
        var reference = new ReferenceGpt2Bpe(trained.VocabJson, trained.MergesText);
        foreach (string text in Corpus().Concat(["Zebras zigzag through zany zones.", "it's 12,345 o'clock!!"]))
        {
            Assert.That(tokenizer.Encode(text), Is.EqualTo(reference.Encode(text)), $"text: {text}");
        }
    }

    [Test]
    public void MergesFileStartsWithItsVersionLine()
    {
        ByteBpeVocabulary trained = ByteBpeTrainer.Train(["aaa bbb aaa"], 260);
        Assert.That(trained.MergesText.Split('\n')[0], Is.EqualTo("#version: 0.2"));
        Assert.That(trained.MergesText.Split('\n')[1], Is.EqualTo("a a"), "the most frequent pair comes first");
    }

    [Test]
    public void TooSmallCorpusIsReported()
    {
        var e = Assert.Throws<OrtZoException>(() => ByteBpeTrainer.Train(["ab"], 300))!;
        Assert.That(e.Message, Does.Contain("too large for the corpus"));
    }
}
