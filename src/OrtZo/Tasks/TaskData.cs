using OrtZo.Tasks;
using OrtZo.Tokenization;

namespace OrtZo;

/// <summary>
/// The examples of one task split, each already put through MeZO's prompt template for its task: a prompt,
/// the candidate continuations to score, and the index of the correct one.
/// </summary>
/// <example>
/// MeZO's 1000/500/1000 protocol on RTE (the train split gives train and dev, the validation split the test):
/// <code>
/// var pool = TaskData.Load("superglue-rte-full/train.jsonl", "rte");          // 2490 examples
/// var (train, dev) = pool.SampleTrainAndDev(numTrain: 1000, numDev: 500, seed: 0);
/// var test = TaskData.Load("superglue-rte-full/val.jsonl", "rte").Sample(1000, seed: 0);  // all 277, shuffled
/// </code>
/// </example>
public sealed class TaskData
{
    private TaskData(string task, IReadOnlyList<TemplatedExample> examples, bool trainAsClassification)
    {
        Task = task;
        Examples = examples;
        TrainAsClassification = trainAsClassification;
    }

    /// <summary>The task names <see cref="Load"/> accepts: sst2, rte, boolq, wic, multirc, cb, copa, jsonl.</summary>
    public static IReadOnlyList<string> TaskNames => TaskLoader.Names;

    /// <summary>The task's name, as in <see cref="TaskNames"/>.</summary>
    public string Task { get; }

    /// <summary>Number of examples (for MultiRC, answers: each answer is scored as its own example, as in MeZO).</summary>
    public int Count => Examples.Count;

    /// <summary>
    /// Whether MeZO trains this task as classification (cross-entropy over the candidates' mean log-probs);
    /// false for COPA, which MeZO trains on the log-likelihood of the correct continuation.
    /// </summary>
    public bool TrainAsClassification { get; }

    internal IReadOnlyList<TemplatedExample> Examples { get; }

    /// <summary>
    /// Reads a data file of <paramref name="task"/> (case-insensitive; MeZO's names such as "SST2" or "Copa" work).
    /// </summary>
    /// <remarks>
    /// Layouts: <c>.tsv</c> files are GLUE / LM-BFF k-shot TSV with a header (SST-2: <c>sentence, label</c>;
    /// RTE: <c>sentence1, sentence2, label</c> with "entailment" / "not_entailment"); other files are JSON
    /// lines in SuperGLUE's schema (BoolQ, CB, COPA, MultiRC with nested passage.questions[].answers[], RTE, WiC;
    /// SST-2 as <c>{"sentence", "label"}</c>), or, for "jsonl",
    /// <c>{"prompt": str, "candidates": [str, ...], "label": int}</c> where a candidate is scored on the tokens of
    /// prompt + candidate that follow the prompt's.
    /// </remarks>
    /// <exception cref="OrtZoException">A line is malformed; the message names file:line, the field and what was expected.</exception>
    /// <exception cref="ArgumentException">The task name is unknown, or a TSV file was given for a JSONL-only task.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static TaskData Load(string path, string task)
    {
        string name = TaskLoader.Canonical(task);
        return new TaskData(name, TaskLoader.Load(path, name), TaskLoader.TrainsAsClassification(name));
    }

    /// <summary>
    /// Examples made in memory, as the "jsonl" task reads them: candidate i is scored on the tokens of
    /// <c>Prompt + Candidates[i]</c> that follow those of <c>Prompt</c>.
    /// </summary>
    /// <param name="examples">Prompt, candidates (at least one, none empty) and the index of the correct candidate.</param>
    /// <param name="trainAsClassification">Train with cross-entropy over the candidates (MeZO's default) rather
    /// than the likelihood of the correct one.</param>
    /// <exception cref="OrtZoException">An example is invalid; the message names it ("example N").</exception>
    public static TaskData FromExamples(IEnumerable<(string Prompt, IReadOnlyList<string> Candidates, int Label)> examples, bool trainAsClassification = true)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var list = new List<TemplatedExample>();
        foreach ((string prompt, IReadOnlyList<string> candidates, int label) in examples)
        {
            string where = $"example {list.Count}";
            if (prompt is null)
            {
                throw TaskErrors.Fail(TaskDataError.NoPrompt, where, "prompt", "the prompt is null; expected a string");
            }
            if (candidates is null || candidates.Count == 0)
            {
                throw TaskErrors.Fail(TaskDataError.NoCandidates, where, "candidates", "there are no candidates; expected at least one");
            }
            for (int c = 0; c < candidates.Count; c++)
            {
                if (string.IsNullOrEmpty(candidates[c]))
                {
                    throw TaskErrors.Fail(TaskDataError.EmptyCandidate, where, $"candidates[{c}]", $"candidate {c} is empty; expected the text to score after the prompt");
                }
            }
            if (label < 0 || label >= candidates.Count)
            {
                throw TaskErrors.Fail(TaskDataError.InvalidLabel, where, "label", $"label {label} is out of range; expected 0..{candidates.Count - 1}");
            }
            list.Add(new TemplatedExample(prompt, [.. candidates], label));
        }
        return new TaskData(TaskLoader.Jsonl, list, trainAsClassification);
    }

    /// <summary>
    /// MeZO's <c>sample_subset</c>: after <c>np.random.seed(seed)</c>, the first <paramref name="count"/> examples
    /// of <c>np.random.permutation(Count)</c>, in that order (all of them, shuffled, when count ≥ Count).
    /// Reproduces numpy's legacy generator exactly, so the same examples are picked as in MeZO.
    /// </summary>
    /// <param name="seed">numpy seed, 0 or more (mezo.sh: SEED, default 0).</param>
    public TaskData Sample(int count, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        return Select(MezoSampling.Subset(Count, count, (uint)seed));
    }

    /// <summary>
    /// MeZO's training sets: <see cref="Sample"/> of <paramref name="numTrain"/> + <paramref name="numDev"/>
    /// examples, whose last <paramref name="numDev"/> are the dev set and the rest the training set.
    /// </summary>
    /// <param name="numTrain">Training examples (mezo.sh: 1000).</param>
    /// <param name="numDev">Dev examples (mezo.sh: 500; 100 for CB and COPA); 0 for none.</param>
    /// <param name="seed">numpy seed, 0 or more.</param>
    public (TaskData Train, TaskData Dev) SampleTrainAndDev(int numTrain, int numDev, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        (int[] train, int[] dev) = MezoSampling.TrainAndDev(Count, numTrain, numDev, (uint)seed);
        return (Select(train), Select(dev));
    }

    /// <summary>Tokenizes every example for scoring (MeZO's encode_prompt), truncating rows to <paramref name="maxLength"/>.</summary>
    internal EncodedExample[] Encode(TextTokenizer tokenizer, int maxLength)
    {
        var encoded = new EncodedExample[Count];
        for (int i = 0; i < Count; i++)
        {
            TemplatedExample example = Examples[i];
            encoded[i] = PromptEncoder.Encode(example, tokenizer, maxLength, example.Source ?? $"example {i}");
        }
        return encoded;
    }

    /// <summary>The first <paramref name="count"/> examples, in order.</summary>
    internal TaskData Take(int count) => Select(Enumerable.Range(0, Math.Min(count, Count)).ToArray());

    private TaskData Select(int[] indices) =>
        new(Task, indices.Select(i => Examples[i]).ToArray(), TrainAsClassification);
}
