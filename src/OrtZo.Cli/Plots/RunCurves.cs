using System.Text.Json;
using OrtZo.WeightStore;

namespace OrtZo.Cli.Plots;

/// <summary>The series of one run's <c>metrics.jsonl</c>, as <see cref="TrainingLoop"/> writes it.</summary>
internal sealed record RunCurves
{
    public required string Label { get; init; }
    /// <summary>Steps that logged a training line, with the loss (NaN where it was not finite) and learning rate.</summary>
    public required double[] Steps { get; init; }
    public required double[] Loss { get; init; }
    public required double[] LearningRate { get; init; }
    /// <summary>Steps the optimizer skipped (a non-finite loss difference): no update was applied.</summary>
    public required double[] SkippedSteps { get; init; }
    public required double[] DevSteps { get; init; }
    public required double[] DevLoss { get; init; }
    /// <summary>Dev accuracy in percent.</summary>
    public required double[] DevAccuracy { get; init; }

    /// <summary>Reads <c>metrics.jsonl</c> of a run folder; a torn last line (a killed run) is skipped.</summary>
    public static RunCurves Read(string runFolder, string? label = null)
    {
        string path = Path.Combine(runFolder, TrainingLoop.MetricsFile);
        if (!File.Exists(path))
            throw new OrtZoException(OrtZoErrorKind.NotFound, OptionError.UnknownValue, $"{Path.GetFullPath(path)}: no such file: not a run folder of `ortzo train`",
                Path.GetFullPath(path), "metrics.jsonl", hint: "give the --out folder of a train run (or a sweep's trials/<name>)");
        var steps = new List<double>();
        var loss = new List<double>();
        var lr = new List<double>();
        var skipped = new List<double>();
        var devSteps = new List<double>();
        var devLoss = new List<double>();
        var devAcc = new List<double>();
        foreach (string line in File.ReadLines(path))
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { continue; }
            using (doc)
            {
                var root = doc.RootElement;
                if (!root.TryGetProperty("step", out var stepElement)) continue;
                double step = stepElement.GetInt64();
                if (root.TryGetProperty("dev_loss", out var d))
                {
                    devSteps.Add(step);
                    devLoss.Add(d.ValueKind == JsonValueKind.Number ? d.GetDouble() : double.NaN);
                    devAcc.Add(root.TryGetProperty("dev_accuracy", out var a) && a.ValueKind == JsonValueKind.Number ? 100 * a.GetDouble() : double.NaN);
                }
                else if (root.TryGetProperty("lr", out var r))
                {
                    steps.Add(step);
                    lr.Add(r.GetDouble());
                    loss.Add(root.TryGetProperty("loss", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetDouble() : double.NaN);
                    if (root.TryGetProperty("skipped", out var s) && s.ValueKind == JsonValueKind.True) skipped.Add(step);
                }
            }
        }
        return new RunCurves
        {
            Label = label ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runFolder))),
            Steps = [.. steps], Loss = [.. loss], LearningRate = [.. lr], SkippedSteps = [.. skipped],
            DevSteps = [.. devSteps], DevLoss = [.. devLoss], DevAccuracy = [.. devAcc],
        };
    }

    /// <summary>
    /// Bias-corrected exponential moving average of the training loss (TensorBoard's smoothing), skipping non-finite
    /// values; the window grows with the run (β = 1 − 1/max(10, n/20)) so long runs read as smoothly as short ones.
    /// </summary>
    public double[] SmoothedLoss()
    {
        double beta = 1 - 1.0 / Math.Max(10, Loss.Length / 20.0);
        var smoothed = new double[Loss.Length];
        double average = 0, weight = 0;
        for (int i = 0; i < Loss.Length; i++)
        {
            if (double.IsFinite(Loss[i]))
            {
                average = beta * average + (1 - beta) * Loss[i];
                weight = beta * weight + (1 - beta);
            }
            smoothed[i] = weight > 0 ? average / weight : double.NaN;
        }
        return smoothed;
    }
}
