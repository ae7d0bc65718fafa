using System.Text.Json;
using NUnit.Framework;
using OrtZo.Tasks;

using OrtZo;
namespace OrtZo.Tests.Tasks;

/// <summary>
/// Every loader on real lines (Fixtures/tasks), compared with what MeZO's own templates.py makes of the same
/// lines (mezo_templates_golden.json, from make_template_golden.py).
/// </summary>
public class TaskLoaderTests
{
    private static readonly (string Task, string File, int Count)[] Files =
    [
        ("sst2", "sst2_kshot.tsv", 4), ("sst2", "sst2.jsonl", 4), ("rte", "rte_kshot.tsv", 2), ("rte", "rte.jsonl", 3),
        ("boolq", "boolq.jsonl", 3), ("wic", "wic.jsonl", 4), ("multirc", "multirc.jsonl", 21), ("cb", "cb.jsonl", 4),
        ("copa", "copa.jsonl", 4),
    ];

    private static IEnumerable<TestCaseData> FileCases() =>
        Files.Select(f => new TestCaseData(f.Task, f.File, f.Count).SetName($"Loads {f.File} as MeZO templates it ({f.Task})"));

    [TestCaseSource(nameof(FileCases))]
    public void LoadsLikeMezo(string task, string file, int count)
    {
        TaskData data = TaskData.Load(TaskFixtures.PathOf(file), task);
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllText(TaskFixtures.PathOf("mezo_templates_golden.json")));
        var expected = golden.RootElement.EnumerateArray().Where(g => g.GetProperty("file").GetString() == file).ToList();

        Assert.That(data.Count, Is.EqualTo(count).And.EqualTo(expected.Count));
        Assert.That(data.Task, Is.EqualTo(task));
        for (int i = 0; i < data.Count; i++)
        {
            TemplatedExample example = data.Examples[i];
            Assert.That(example.Prompt, Is.EqualTo(expected[i].GetProperty("encode").GetString()), $"{file} example {i} prompt");
            Assert.That(example.Candidates.Select(c => example.Prompt + c),
                Is.EqualTo(expected[i].GetProperty("verbalize").EnumerateArray().Select(v => v.GetString())), $"{file} example {i} verbalized");
            Assert.That(example.Gold, Is.EqualTo(expected[i].GetProperty("gold").GetInt32()), $"{file} example {i} gold");
        }
    }

    [Test]
    public void OnlyCopaTrainsAsLanguageModelling()
    {
        Assert.That(Files.Where(f => !TaskData.Load(TaskFixtures.PathOf(f.File), f.Task).TrainAsClassification).Select(f => f.Task).Distinct(),
            Is.EqualTo(new[] { "copa" }));
    }

    [Test]
    public void MultiRcAnswersCarryTheirQuestionAndLine()
    {
        TaskData data = TaskData.Load(TaskFixtures.PathOf("multirc.jsonl"), "multirc");
        Assert.That(data.Examples.Select(e => e.Group).Distinct().Count(), Is.EqualTo(5));
        Assert.That(data.Examples[0].Group, Does.EndWith("/422"));
        Assert.That(data.Examples[6].Source, Does.EndWith("multirc.jsonl:1 passage.questions[1].answers[1]"));
    }

    [Test]
    public void TaskNamesAreCaseInsensitiveLikeMezos()
    {
        Assert.That(TaskData.Load(TaskFixtures.PathOf("copa.jsonl"), "Copa").Task, Is.EqualTo("copa"));
        Assert.That(TaskData.Load(TaskFixtures.PathOf("sst2.jsonl"), "SST2").Task, Is.EqualTo("sst2"));
        Assert.That(TaskData.TaskNames, Is.EqualTo(new[] { "sst2", "rte", "boolq", "wic", "multirc", "cb", "copa", "jsonl" }));
    }

    [Test]
    public void GenericJsonlUsesPromptAndCandidatesAsWritten()
    {
        TaskData data = TaskData.Load(TaskFixtures.PathOf("generic.jsonl"), "jsonl");
        Assert.That(data.Count, Is.EqualTo(2));
        Assert.That(data.Examples[0].Prompt, Is.EqualTo("The capital of France is"));
        Assert.That(data.Examples[0].Candidates, Is.EqualTo(new[] { " Paris", " Rome", " Berlin" }));
        Assert.That(data.Examples[1].Gold, Is.EqualTo(1));
        Assert.That(data.TrainAsClassification, Is.True);
    }

    [Test]
    public void FromExamplesBuildsTheGenericTask()
    {
        TaskData data = TaskData.FromExamples([("2 + 2 =", [" 4", " 5"], 0)], trainAsClassification: false);
        Assert.That((data.Task, data.Count, data.TrainAsClassification), Is.EqualTo(("jsonl", 1, false)));
        Assert.That(data.Examples[0], Is.EqualTo(new TemplatedExample("2 + 2 =", [" 4", " 5"], 0)).Using<TemplatedExample>(
            (a, b) => a.Prompt == b.Prompt && a.Candidates.SequenceEqual(b.Candidates) && a.Gold == b.Gold));
    }
}
