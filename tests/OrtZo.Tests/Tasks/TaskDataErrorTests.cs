using NUnit.Framework;
using OrtZo.Tasks;

using OrtZo;
namespace OrtZo.Tests.Tasks;

/// <summary>One test per way a data line can be wrong: the error names file:line, the field and what was expected.</summary>
public class TaskDataErrorTests
{
    /// <summary>Where the error points: "file:line" for a data file, the example otherwise.</summary>
    private static string Location(OrtZoException e) => e.Line is { } line ? $"{e.File}:{line}" : e.Message[..e.Message.IndexOf(": ", StringComparison.Ordinal)];

    private static OrtZoException LoadFails(TaskDataError reason, string content, string task, string extension = ".jsonl")
    {
        string path = TaskFixtures.WriteTemp(content, extension);
        try
        {
            var e = Assert.Throws<OrtZoException>(() => TaskData.Load(path, task))!;
            Assert.That(e.Reason, Is.EqualTo(reason), e.Message);
            Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.InvalidTaskData));
            Assert.That(e.Message, Does.StartWith(Location(e) + ": "));
            Assert.That(Location(e), Does.StartWith(path + ":"));
            return e;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void BadJson()
    {
        var e = LoadFails(TaskDataError.InvalidJson, "{\"premise\": \"a\", \"hypothesis\": \"b\", \"label\": 0}\n{\"premise\": \"a\",\n", "rte");
        Assert.That(Location(e), Does.EndWith(":2"));
        Assert.That(e.Message, Does.Contain("not valid JSON"));
    }

    [Test]
    public void LineThatIsNotAnObject()
    {
        var e = LoadFails(TaskDataError.NotAnObject, "[1, 2]\n", "cb");
        Assert.That(e.Message, Does.Contain("JSON array; expected a JSON object"));
    }

    [Test]
    public void MissingField()
    {
        var e = LoadFails(TaskDataError.MissingField, "{\"premise\": \"p\", \"label\": \"entailment\"}\n", "cb");
        Assert.That((Location(e).Split(':')[^1], e.Subject), Is.EqualTo(("1", "hypothesis")));
        Assert.That(e.Message, Does.Contain("field 'hypothesis' is missing; expected a string"));
    }

    [Test]
    public void WrongType()
    {
        var e = LoadFails(TaskDataError.WrongType, "{\"word\": \"w\", \"sentence1\": 5, \"sentence2\": \"b\", \"label\": true}\n", "wic");
        Assert.That(e.Subject, Is.EqualTo("sentence1"));
        Assert.That(e.Message, Does.Contain("field 'sentence1' is a JSON number; expected a string"));
    }

    [Test]
    public void LabelOutOfRange()
    {
        var e = LoadFails(TaskDataError.InvalidLabel, "{\"sentence\": \"fine\", \"label\": 2}\n", "sst2");
        Assert.That(e.Subject, Is.EqualTo("label"));
        Assert.That(e.Message, Does.Contain("field 'label' is 2; expected an integer 0..1"));
    }

    [Test]
    public void UnknownLabelName()
    {
        var e = LoadFails(TaskDataError.InvalidLabel, "{\"premise\": \"p\", \"hypothesis\": \"h\", \"label\": \"maybe\"}\n", "rte");
        Assert.That(e.Message, Does.Contain("\"entailment\" or \"not_entailment\""));
    }

    [Test]
    public void GenericLabelOutOfRangeOfItsCandidates()
    {
        var e = LoadFails(TaskDataError.InvalidLabel, "{\"prompt\": \"p\", \"candidates\": [\" a\", \" b\"], \"label\": 2}\n", "jsonl");
        Assert.That(e.Message, Does.Contain("expected an integer 0..1"));
    }

    [Test]
    public void EmptyCandidates()
    {
        var e = LoadFails(TaskDataError.NoCandidates, "{\"prompt\": \"p\", \"candidates\": [], \"label\": 0}\n", "jsonl");
        Assert.That(e.Subject, Is.EqualTo("candidates"));
        Assert.That(e.Message, Does.Contain("field 'candidates' is empty"));
    }

    [Test]
    public void EmptyCandidateString()
    {
        var e = LoadFails(TaskDataError.EmptyCandidate, "{\"prompt\": \"p\", \"candidates\": [\" a\", \"\"], \"label\": 0}\n", "jsonl");
        Assert.That(e.Subject, Is.EqualTo("candidates[1]"));
    }

    [Test]
    public void CandidateThatIsNotAString()
    {
        var e = LoadFails(TaskDataError.WrongType, "{\"prompt\": \"p\", \"candidates\": [\" a\", 3], \"label\": 0}\n", "jsonl");
        Assert.That(e.Message, Does.Contain("field 'candidates[1]' is a JSON number; expected a string"));
    }

    [Test]
    public void NestedMultiRcFieldIsNamedByItsPath()
    {
        var e = LoadFails(TaskDataError.MissingField, "{\"idx\": 0, \"passage\": {\"text\": \"t\", \"questions\": [{\"question\": \"q\", \"idx\": 0, \"answers\": [{\"text\": \"a\", \"idx\": 0}]}]}}\n", "multirc");
        Assert.That(e.Subject, Is.EqualTo("passage.questions[0].answers[0].label"));
    }

    [Test]
    public void CopaQuestionMustBeCauseOrEffect()
    {
        var e = LoadFails(TaskDataError.InvalidValue, "{\"premise\": \"p.\", \"choice1\": \"a\", \"choice2\": \"b\", \"question\": \"why\", \"label\": 0}\n", "copa");
        Assert.That(e.Message, Does.Contain("expected \"cause\" or \"effect\""));
    }

    [Test]
    public void WrongTsvColumnCount()
    {
        var e = LoadFails(TaskDataError.WrongColumnCount, "index\tsentence1\tsentence2\tlabel\n0\tp\th\tentailment\n1\tp\tentailment\n", "rte", ".tsv");
        Assert.That(Location(e), Does.EndWith(":3"));
        Assert.That(e.Message, Does.Contain("3 tab-separated columns; expected 4"));
    }

    [Test]
    public void TsvHeaderWithoutARequiredColumn()
    {
        var e = LoadFails(TaskDataError.MissingColumn, "text\tlabel\nfine\t1\n", "sst2", ".tsv");
        Assert.That((Location(e).Split(':')[^1], e.Subject), Is.EqualTo(("1", "sentence")));
    }

    [Test]
    public void TsvLabelThatIsNotAClass()
    {
        var e = LoadFails(TaskDataError.InvalidLabel, "sentence\tlabel\nfine\tpositive\n", "sst2", ".tsv");
        Assert.That(e.Message, Does.Contain("column 'label' is \"positive\""));
    }

    [Test]
    public void TsvForAJsonlOnlyTask()
    {
        string path = TaskFixtures.WriteTemp("a\tb\n", ".tsv");
        try
        {
            Assert.That(Assert.Throws<OrtZoException>(() => TaskData.Load(path, "boolq"))!.Reason, Is.EqualTo(TaskDataError.WrongLayout));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void UnknownTask()
    {
        var e = Assert.Throws<OrtZoException>(() => TaskData.Load(TaskFixtures.PathOf("copa.jsonl"), "squad"))!;
        Assert.That((e.Kind, e.Reason), Is.EqualTo((OrtZoErrorKind.InvalidOption, (Enum)TaskDataError.UnknownTask)));
        Assert.That(e.Message, Does.Contain("sst2, rte, boolq"));
    }

    [Test]
    public void InvalidInMemoryExamplesAreNamedByIndex()
    {
        var e = Assert.Throws<OrtZoException>(() => TaskData.FromExamples([("ok", [" a"], 0), ("bad", [" a", " b"], 5)]))!;
        Assert.That((Location(e), e.Subject, e.Reason), Is.EqualTo(("example 1", "label", (Enum)TaskDataError.InvalidLabel)));
        e = Assert.Throws<OrtZoException>(() => TaskData.FromExamples([("p", Array.Empty<string>(), 0)]))!;
        Assert.That((e.Subject, e.Reason), Is.EqualTo(("candidates", (Enum)TaskDataError.NoCandidates)));
        e = Assert.Throws<OrtZoException>(() => TaskData.FromExamples([(null!, [" a"], 0)]))!;
        Assert.That((e.Subject, e.Reason), Is.EqualTo(("prompt", (Enum)TaskDataError.NoPrompt)));
    }

    [Test]
    public void AMissingDataFileIsNamed()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"ortzo-missing-{Guid.NewGuid():N}.jsonl");
        var e = Assert.Throws<OrtZoException>(() => TaskData.Load(missing, "jsonl"))!;
        Assert.That((e.Kind, e.Reason, e.File), Is.EqualTo((OrtZoErrorKind.NotFound, (Enum)TaskDataError.FileMissing, missing)));
    }

    [Test]
    public void AnEmptyTsvFileHasNoHeader()
    {
        var e = LoadFails(TaskDataError.EmptyFile, "", "sst2", ".tsv");
        Assert.That(e.Message, Does.Contain("the file is empty"));
    }
}
