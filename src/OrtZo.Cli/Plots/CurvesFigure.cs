using OrtZo.WeightStore;
using ScottPlot;
using SkiaSharp;

namespace OrtZo.Cli.Plots;

/// <summary>
/// The picture of one or more runs: three panels over the step axis — training loss (smoothed; the raw loss faintly
/// when there is one run) with dev loss, dev accuracy, and the learning rate — with skipped steps marked by red
/// crosses. Several runs are overlaid in one colour each (<c>ortzo plot</c>, a sweep's trials).
/// </summary>
internal static class CurvesFigure
{
    public const string FileName = "curves.png";
    public const int DefaultWidth = 1000, DefaultHeight = 900;

    /// <summary>
    /// The font every picture uses, shipped beside the CLI (fonts/): SkiaSharp's native library reads system fonts only
    /// from /usr/share/fonts, which a bare machine or container lacks, and the same font everywhere draws the same image.
    /// </summary>
    private const string FontName = "OrtZo DejaVu Sans";
    private static readonly Lazy<string> Font = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fonts", "DejaVuSans-subset.ttf");
        if (!File.Exists(path)) return Fonts.Default;   // a stripped install: the system's font, if it has one
        Fonts.AddFontFile(FontName, path);
        return FontName;
    });

    /// <summary>Draws the runs and writes the PNG atomically (never a half-written image).</summary>
    public static void Write(IReadOnlyList<RunCurves> runs, string path, string? title = null, int width = DefaultWidth, int height = DefaultHeight)
    {
        if (width < 200 || height < 200 || width > 10_000 || height > 10_000)
            throw OptionErrors.Fail(OptionError.OutOfRange, "--size", $"{width}x{height}: each side must be 200–10000 pixels");
        byte[] png = Render(runs, title, width, height);
        AtomicFile.WriteAllBytes(path, png);
    }

    public static byte[] Render(IReadOnlyList<RunCurves> runs, string? title, int width, int height)
    {
        var loss = new Plot();
        var accuracy = new Plot();
        var rate = new Plot();
        bool single = runs.Count == 1;
        bool logRate = LearningRatesSpanDecade(runs);
        var palette = new ScottPlot.Palettes.Category10();
        var colormap = new ScottPlot.Colormaps.Turbo();
        double lossTop = double.NegativeInfinity, lossBottom = double.PositiveInfinity, firstLoss = double.NegativeInfinity;

        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            // Beyond ten runs (a sweep's trials, in order of their learning rate) a colormap keeps neighbours apart.
            var color = single ? Colors.Navy : runs.Count <= 10 ? palette.GetColor(i) : colormap.GetColor(i / (runs.Count - 1.0));
            string label = single ? "" : run.Label;
            double[] smoothed = run.SmoothedLoss();
            if (run.Steps.Length > 0)
            {
                if (single)
                {
                    var raw = loss.Add.ScatterLine(run.Steps, run.Loss, color.WithAlpha(0.25));
                    raw.LegendText = "train loss (L+ of each step)";
                    Extend(run.Loss, ref lossBottom, ref lossTop);
                }
                var line = loss.Add.ScatterLine(run.Steps, smoothed, color);
                line.LineWidth = 2;
                line.LegendText = single ? "train loss, smoothed" : label;
                Extend(smoothed, ref lossBottom, ref lossTop);
                if (smoothed.FirstOrDefault(double.IsFinite) is var f && double.IsFinite(f)) firstLoss = Math.Max(firstLoss, f);

                double[] rates = logRate ? run.LearningRate.Select(r => r > 0 ? Math.Log10(r) : double.NaN).ToArray() : run.LearningRate;
                var lr = rate.Add.ScatterLine(run.Steps, rates, color);
                lr.LineWidth = 2;
            }
            if (run.DevSteps.Length > 0)
            {
                var dev = loss.Add.Scatter(run.DevSteps, run.DevLoss, single ? Colors.DarkOrange : color);
                dev.LinePattern = LinePattern.Dashed;
                dev.MarkerSize = 7;
                dev.MarkerShape = MarkerShape.FilledCircle;
                if (single) dev.LegendText = "dev loss";
                Extend(run.DevLoss, ref lossBottom, ref lossTop);
                if (run.DevLoss.FirstOrDefault(double.IsFinite) is var d && double.IsFinite(d)) firstLoss = Math.Max(firstLoss, d);
                var acc = accuracy.Add.Scatter(run.DevSteps, run.DevAccuracy, single ? Colors.DarkGreen : color);
                acc.MarkerSize = 7;
                acc.LineWidth = 2;
            }
            if (run.SkippedSteps.Length > 0)
            {
                // A cross at the smoothed loss of each skipped step: where in the run the update was dropped.
                double[] at = run.SkippedSteps.Select(s => LossAt(run, smoothed, s)).ToArray();
                var marks = loss.Add.Markers(run.SkippedSteps, at, MarkerShape.Cross, 10, Colors.Red);
                if (i == 0) marks.LegendText = $"skipped step{(single ? $" ({run.SkippedSteps.Length})" : "s")}";
            }
        }

        // A diverged run would flatten the others: the loss axis stops at 3x the highest starting loss.
        if (double.IsFinite(lossTop) && double.IsFinite(lossBottom))
        {
            double top = double.IsFinite(firstLoss) ? Math.Min(lossTop, 3 * firstLoss) : lossTop;
            double pad = Math.Max(1e-3, (top - lossBottom) * 0.05);
            loss.Axes.SetLimitsY(lossBottom - pad, top + pad);
        }
        loss.Axes.Title.Label.Text = title ?? (single ? runs[0].Label : $"{runs.Count} runs");
        loss.YLabel("loss");
        accuracy.YLabel("dev accuracy (%)");
        if (runs.All(r => r.DevSteps.Length == 0))
        {
            // no dev set: an empty panel would get an axis of its own around zero; say why it is empty instead
            double first = runs.SelectMany(r => r.Steps).DefaultIfEmpty(0).Min(), last = runs.SelectMany(r => r.Steps).DefaultIfEmpty(1).Max();
            var note = accuracy.Add.Text("no dev evaluations (train with --dev to see them)", (first + last) / 2, 50);
            note.LabelAlignment = Alignment.MiddleCenter;
            note.LabelFontSize = 14;
            note.LabelFontColor = Colors.Gray;
            note.LabelFontName = Font.Value;
            // invisible corners give the panel the runs' step range (shared with the others) and 0–100 %
            var corners = accuracy.Add.ScatterPoints(new[] { first, Math.Max(last, first + 1) }, new[] { 0.0, 100.0 }, Colors.Transparent);
            corners.MarkerSize = 0;
        }
        rate.YLabel(logRate ? "learning rate (log10)" : "learning rate");
        if (!logRate && runs.SelectMany(r => r.LearningRate).Where(double.IsFinite).DefaultIfEmpty(0).Max() is var maxRate && maxRate > 0)
        {
            rate.Axes.SetLimitsY(0, 1.15 * maxRate);   // a constant rate would otherwise get an axis around zero
            rate.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture) };
        }
        rate.XLabel("step");
        bool legendBeside = runs.Count > 4;
        if (!legendBeside) loss.ShowLegend(Alignment.UpperRight);

        var figure = new Multiplot(loss);
        foreach (var panel in new[] { loss, accuracy, rate })
        {
            panel.Font.Set(Font.Value);
            panel.Axes.Left.MinimumSize = 80;   // the three y axes line up whatever their tick labels
            if (panel != loss) figure.Subplots.Add(panel);
        }
        figure.SharedAxes.ShareX([loss, accuracy, rate]);
        using var surface = SKSurface.Create(new SKImageInfo(width, height)) ?? throw new InvalidOperationException($"could not create a {width}x{height} drawing surface");
        surface.Canvas.Clear(SKColors.White);
        int panelsWidth = width;
        using var legend = legendBeside ? SKBitmap.Decode(loss.GetLegendImage().GetImageBytes(ImageFormat.Png)) : null;
        if (legend is not null && legend.Width < width / 2)
        {
            // Many runs: the legend gets a column of its own beside the three panels, which keep one x scale.
            loss.Legend.IsVisible = false;
            panelsWidth = width - legend.Width - 10;
        }
        figure.Render(surface.Canvas, new PixelRect(0, panelsWidth, height, 0));
        if (panelsWidth < width) surface.Canvas.DrawBitmap(legend, panelsWidth + 5, 40);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static bool LearningRatesSpanDecade(IReadOnlyList<RunCurves> runs)
    {
        var positive = runs.SelectMany(r => r.LearningRate).Where(r => r > 0).ToArray();
        return positive.Length > 0 && positive.Max() / positive.Min() > 10 && runs.Count > 1;
    }

    private static double LossAt(RunCurves run, double[] smoothed, double step)
    {
        int i = Array.BinarySearch(run.Steps, step);
        return i >= 0 && double.IsFinite(smoothed[i]) ? smoothed[i] : smoothed.LastOrDefault(double.IsFinite);
    }

    private static void Extend(double[] values, ref double bottom, ref double top)
    {
        foreach (double v in values)
            if (double.IsFinite(v))
            {
                bottom = Math.Min(bottom, v);
                top = Math.Max(top, v);
            }
    }
}
