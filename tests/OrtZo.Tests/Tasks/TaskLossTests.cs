using NUnit.Framework;
using OrtZo.Tasks;

using OrtZo;
namespace OrtZo.Tests.Tasks;

/// <summary>MeZO's two training losses, the argmax prediction and the metrics, on hand-computed values.</summary>
public class TaskLossTests
{
    // Example 0: 2 candidates, gold 1. Example 1: 3 candidates, gold 0 (MeZO's "different number of options" path).
    private static readonly ScoringRow[] Rows =
    [
        new(0, 0, false, 1), new(0, 1, true, 2),
        new(1, 0, true, 3), new(1, 1, false, 1), new(1, 2, false, 4),
    ];
    private static readonly float[] Mean = [-1.0f, -0.5f, -2.0f, -1.0f, -3.0f];
    private static readonly float[] Sum = [-1.0f, -1.0f, -6.0f, -1.0f, -12.0f];

    [Test]
    public void ClassificationIsMeanCrossEntropyOverCandidateMeans()
    {
        double example0 = -Math.Log(Math.Exp(-0.5) / (Math.Exp(-1.0) + Math.Exp(-0.5)));
        double example1 = -Math.Log(Math.Exp(-2.0) / (Math.Exp(-2.0) + Math.Exp(-1.0) + Math.Exp(-3.0)));
        Assert.That(TaskLoss.Classification(Rows, Mean), Is.EqualTo((example0 + example1) / 2).Within(1e-12));
        Assert.That(TaskLoss.Compute(true, Rows, Sum, Mean), Is.EqualTo((example0 + example1) / 2).Within(1e-12));
    }

    [Test]
    public void ClassificationIsStableForVeryNegativeScores()
    {
        double loss = TaskLoss.Classification([new(0, 0, true, 1), new(0, 1, false, 1)], [-1000f, -1001f]);
        Assert.That(loss, Is.EqualTo(Math.Log(1 + Math.Exp(-1))).Within(1e-12));
    }

    [Test]
    public void LanguageModelIsGoldTokenCrossEntropyAveragedOverTokens()
    {
        // Gold rows: example 0 candidate 1 (sum −1, 2 tokens), example 1 candidate 0 (sum −6, 3 tokens).
        Assert.That(TaskLoss.LanguageModel(Rows, Sum), Is.EqualTo(7.0 / 5).Within(1e-12));
        Assert.That(TaskLoss.Compute(false, Rows, Sum, Mean), Is.EqualTo(7.0 / 5).Within(1e-12));
    }

    [Test]
    public void MissingGoldRowIsRejected()
    {
        Assert.Throws<ArgumentException>(() => TaskLoss.Classification([new(4, 0, false, 1), new(4, 1, false, 1)], [0f, 0f]));
    }

    [Test]
    public void PredictionIsTheArgmaxOfMeansWithTiesToTheFirst()
    {
        var predictions = new Prediction[2];
        int count = TaskMetrics.Predict(Rows, Mean, predictions);
        Assert.That(count, Is.EqualTo(2));
        Assert.That(predictions, Is.EqualTo(new[] { new Prediction(0, 1, 1), new Prediction(1, 1, 0) }));
        Assert.That(TaskMetrics.Accuracy(predictions), Is.EqualTo(0.5));

        TaskMetrics.Predict([new(0, 0, false, 1), new(0, 1, true, 1), new(0, 2, false, 1)], [-1f, -1f, -2f], predictions);
        Assert.That(predictions[0].Predicted, Is.Zero);
        TaskMetrics.Predict([new(0, 0, false, 1), new(0, 1, true, 1), new(0, 2, false, 1)], [-1f, float.NaN, 0f], predictions);
        Assert.That(predictions[0].Predicted, Is.EqualTo(1), "numpy's argmax returns the first NaN");
    }

    [Test]
    public void MultiRcExactMatchAndF1a()
    {
        // Question A: answers (gold 1, 0) predicted (1, 0) → all right. Question B: gold (1, 1) predicted (0, 1).
        EncodedExample Answer(int gold, string group) => new([[1, 2], [1, 3]], [1, 1], gold, group);
        EncodedExample[] examples = [Answer(1, "p/A"), Answer(0, "p/A"), Answer(1, "p/B"), Answer(1, "p/B")];
        Prediction[] predictions = [new(0, 1, 1), new(1, 0, 0), new(2, 0, 1), new(3, 1, 1)];
        (double exactMatch, double f1a) = TaskMetrics.MultiRc(predictions, examples);
        Assert.That(exactMatch, Is.EqualTo(0.5));
        // TP 2, predicted yes 2, actual yes 3 → F1 = 2·2 / (2 + 3).
        Assert.That(f1a, Is.EqualTo(0.8).Within(1e-12));
        Assert.That(TaskMetrics.Accuracy(predictions), Is.EqualTo(0.75), "MeZO's MultiRC number: accuracy over answers");
    }

    [Test]
    public void EncodedBatchAndLossWorkTogether()
    {
        // A stand-in scoring head: every scored token has log-prob −0.25, so mean = −0.25 and sum = −0.25·tokens;
        // all candidates tie, so the loss is log(#candidates) and each prediction is candidate 0.
        TaskData data = TaskData.Load(TaskFixtures.PathOf("cb.jsonl"), "cb");
        EncodedExample[] encoded = data.Encode(
            OrtZo.Tokenization.TextTokenizer.Open(Tokenization.TokenizerFixtures.Gpt2SubsetFolder, Tokenization.TokenizerFixtures.ByteBpeInfo), 256);
        int[] selection = [0, 1, 2, 3];
        ScoringBatchShape shape = ScoringBatcher.Measure(encoded, selection, CandidateRows.All, 256);
        var labels = new float[shape.Elements];
        var rows = new ScoringRow[shape.Rows];
        ScoringBatcher.Fill(encoded, selection, CandidateRows.All, 256, 0, new long[shape.Elements], new long[shape.Elements], labels, rows);
        var sum = new float[shape.Rows];
        var mean = new float[shape.Rows];
        for (int r = 0; r < shape.Rows; r++)
        {
            float tokens = labels.AsSpan(r * shape.SequenceLength, shape.SequenceLength).ToArray().Sum();
            Assert.That(tokens, Is.EqualTo(rows[r].ScoredTokens));
            sum[r] = -0.25f * tokens;
            mean[r] = -0.25f;
        }
        Assert.That(TaskLoss.Classification(rows, mean), Is.EqualTo(Math.Log(3)).Within(1e-12));
        var predictions = new Prediction[4];
        TaskMetrics.Predict(rows, mean, predictions);
        Assert.That(predictions.Select(p => p.Gold), Is.EqualTo(new[] { 2, 1, 1, 0 }));
        Assert.That(TaskMetrics.Accuracy(predictions), Is.EqualTo(0.25));
    }
}
