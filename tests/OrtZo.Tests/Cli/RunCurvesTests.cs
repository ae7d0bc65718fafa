using NUnit.Framework;
using OrtZo.Cli.Plots;

namespace OrtZo.Tests.Cli;

public class RunCurvesTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-curves-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    [Test]
    public void MetricsLinesBecomeSeriesWithSkippedStepsAndATornLastLineIsIgnored()
    {
        File.WriteAllText(Path.Combine(_dir, "metrics.jsonl"), string.Join("\n",
            """{"step":0,"dev_loss":0.8,"dev_accuracy":0.5}""",
            """{"step":1,"loss":0.9,"projected_grad":1.5,"lr":0.001,"skipped":false,"step_ms":3}""",
            """{"step":2,"loss":null,"projected_grad":null,"lr":0.001,"skipped":true,"step_ms":3}""",
            """{"step":3,"loss":0.7,"projected_grad":-2,"lr":0.0005,"skipped":false,"step_ms":3}""",
            """{"step":3,"dev_loss":0.6,"dev_accuracy":0.75}""",
            """{"step":4,"loss":0.6,"proj"""));
        var c = RunCurves.Read(_dir, "r");
        Assert.That(c.Steps, Is.EqualTo(new double[] { 1, 2, 3 }));
        Assert.That(c.Loss[0], Is.EqualTo(0.9));
        Assert.That(double.IsNaN(c.Loss[1]));
        Assert.That(c.LearningRate, Is.EqualTo(new[] { 0.001, 0.001, 0.0005 }));
        Assert.That(c.SkippedSteps, Is.EqualTo(new double[] { 2 }));
        Assert.That(c.DevSteps, Is.EqualTo(new double[] { 0, 3 }));
        Assert.That(c.DevLoss, Is.EqualTo(new[] { 0.8, 0.6 }));
        Assert.That(c.DevAccuracy, Is.EqualTo(new[] { 50.0, 75.0 }));
    }

    [Test]
    public void SmoothingIsTheBiasCorrectedAverageOfTheFiniteLossesSoFar()
    {
        var rng = new Random(5);
        var loss = Enumerable.Range(0, 300).Select(i => i == 17 ? double.NaN : 1.0 / (1 + i / 50.0) + 0.1 * rng.NextDouble()).ToArray();
        var c = new RunCurves
        {
            Label = "x", Steps = Enumerable.Range(1, loss.Length).Select(i => (double)i).ToArray(), Loss = loss,
            LearningRate = new double[loss.Length], SkippedSteps = [], DevSteps = [], DevLoss = [], DevAccuracy = [],
        };
        double beta = 1 - 1.0 / 15;   // 300 steps: window max(10, 300/20) = 15
        var smoothed = c.SmoothedLoss();
        var finite = new List<double>();
        for (int t = 0; t < loss.Length; t++)
        {
            if (double.IsFinite(loss[t])) finite.Add(loss[t]);
            // Weighted mean with weights β^(age) over the finite values seen so far: the closed form of the correction.
            double num = 0, den = 0;
            for (int j = 0; j < finite.Count; j++)
            {
                double w = Math.Pow(beta, finite.Count - 1 - j);
                num += w * finite[j];
                den += w;
            }
            Assert.That(smoothed[t], Is.EqualTo(num / den).Within(1e-12), $"step {t}");
        }
    }
}
