namespace OrtZo.Tasks;

/// <summary>
/// Reads a task's data file in the layouts the public copies use and applies MeZO's template to each
/// example. Files ending in .tsv are GLUE-style TSV (SST-2, RTE only); anything else is JSONL.
/// </summary>
internal static class TaskLoader
{
    public const string Sst2 = "sst2";
    public const string Rte = "rte";
    public const string BoolQ = "boolq";
    public const string Wic = "wic";
    public const string MultiRc = "multirc";
    public const string Cb = "cb";
    public const string Copa = "copa";
    public const string Jsonl = "jsonl";

    public static readonly IReadOnlyList<string> Names = [Sst2, Rte, BoolQ, Wic, MultiRc, Cb, Copa, Jsonl];

    /// <summary>The task's canonical name; MeZO's spellings ("SST2", "Copa", "WIC"...) are accepted.</summary>
    public static string Canonical(string task)
    {
        ArgumentNullException.ThrowIfNull(task);
        string name = task.ToLowerInvariant();
        return Names.Contains(name) ? name
            : throw TaskErrors.Fail(TaskDataError.UnknownTask, "--task", "task", $"unknown task '{task}'; expected one of {string.Join(", ", Names)}");
    }

    /// <summary>
    /// Whether MeZO trains the task with a cross-entropy over its candidates (mezo.sh passes
    /// --train_as_classification for every task but Copa, ReCoRD, SQuAD and DROP, which train as language
    /// modelling on the gold continuation).
    /// </summary>
    public static bool TrainsAsClassification(string task) => Canonical(task) != Copa;

    public static List<TemplatedExample> Load(string path, string task)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = Canonical(task);
        if (!File.Exists(path))
            throw TaskErrors.Fail(TaskDataError.FileMissing, Path.GetFullPath(path), null, "no such data file");
        bool tsv = path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase);
        if (tsv && name is not (Sst2 or Rte))
        {
            throw TaskErrors.Fail(TaskDataError.WrongLayout, path, null, $"task '{name}' reads SuperGLUE-style JSONL, but this is a .tsv file");
        }
        return (name, tsv) switch
        {
            (Sst2, true) => TsvTable.ReadFile(path, ["sentence", "label"],
                row => MezoTemplates.Sst2(row.Cell("sentence"), row.Label("label", LabelSpec.Binary)) with { Source = row.Location }),
            (Sst2, false) => ReadJsonl(path,
                r => MezoTemplates.Sst2(r.String("sentence"), r.Label("label", LabelSpec.Binary))),
            (Rte, true) => TsvTable.ReadFile(path, ["sentence1", "sentence2", "label"],
                row => MezoTemplates.Rte(row.Cell("sentence1"), row.Cell("sentence2"), row.Label("label", LabelSpec.Rte)) with { Source = row.Location }),
            (Rte, false) => ReadJsonl(path,
                r => MezoTemplates.Rte(r.String("premise"), r.String("hypothesis"), r.Label("label", LabelSpec.Rte))),
            (BoolQ, _) => ReadJsonl(path, ReadBoolQ),
            (Wic, _) => ReadJsonl(path,
                r => MezoTemplates.Wic(r.String("word"), r.String("sentence1"), r.String("sentence2"), r.Label("label", LabelSpec.TrueIsOne) == 1)),
            (MultiRc, _) => JsonlRecord.ReadFile(path, ReadMultiRc),
            (Cb, _) => ReadJsonl(path,
                r => MezoTemplates.Cb(r.String("premise"), r.String("hypothesis"), r.Label("label", LabelSpec.Cb))),
            (Copa, _) => ReadJsonl(path, ReadCopa),
            _ => ReadJsonl(path, ReadGeneric),
        };
    }

    private static List<TemplatedExample> ReadJsonl(string path, Func<JsonlRecord, TemplatedExample> map) =>
        JsonlRecord.ReadFile(path, record => [map(record) with { Source = record.Location }]);

    /// <summary>SuperGLUE writes the answer as "label", Hugging Face's boolq as "answer"; true or 1 means yes.</summary>
    private static TemplatedExample ReadBoolQ(JsonlRecord r)
    {
        string labelField = r.Has("label") || !r.Has("answer") ? "label" : "answer";
        return MezoTemplates.BoolQ(r.String("passage"), r.String("question"), r.Label(labelField, LabelSpec.TrueIsOne) == 1);
    }

    /// <summary>One SuperGLUE line is a passage with its questions; each answer becomes one example, in file order.</summary>
    private static IEnumerable<TemplatedExample> ReadMultiRc(JsonlRecord r)
    {
        string passageId = r.Id("idx");
        JsonlRecord passage = r.Object("passage");
        string paragraph = passage.String("text");
        var examples = new List<TemplatedExample>();
        foreach (JsonlRecord question in passage.Objects("questions"))
        {
            string questionText = question.String("question");
            string group = $"{passageId}/{question.Id("idx")}";
            foreach (JsonlRecord answer in question.Objects("answers"))
            {
                examples.Add(MezoTemplates.MultiRc(paragraph, questionText, answer.String("text"),
                    answer.Label("label", LabelSpec.TrueIsOne), group) with { Source = answer.Source });
            }
        }
        return examples;
    }

    private static TemplatedExample ReadCopa(JsonlRecord r)
    {
        string question = r.String("question");
        if (question is not ("cause" or "effect"))
        {
            throw r.Error(TaskDataError.InvalidValue, "question", $"field 'question' is \"{question}\"; expected \"cause\" or \"effect\"");
        }
        return MezoTemplates.Copa(r.String("premise"), r.String("choice1"), r.String("choice2"),
            askEffect: question == "effect", r.Label("label", LabelSpec.Binary));
    }

    /// <summary>{"prompt": str, "candidates": [str, ...], "label": int}: the prompt and candidates are used as written.</summary>
    private static TemplatedExample ReadGeneric(JsonlRecord r)
    {
        string prompt = r.String("prompt");
        List<string> candidates = r.Strings("candidates");
        if (candidates.Count == 0)
        {
            throw r.Error(TaskDataError.NoCandidates, "candidates", "field 'candidates' is empty; expected at least one candidate string");
        }
        int empty = candidates.FindIndex(c => c.Length == 0);
        if (empty >= 0)
        {
            throw r.Error(TaskDataError.EmptyCandidate, $"candidates[{empty}]", $"field 'candidates[{empty}]' is an empty string; expected the text to score after the prompt");
        }
        return new TemplatedExample(prompt, candidates, r.Label("label", new LabelSpec(candidates.Count)));
    }
}
