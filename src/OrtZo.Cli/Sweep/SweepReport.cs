using System.Globalization;
using System.Text;
using OrtZo.Cli.Plots;
using OrtZo.WeightStore;
using Spectre.Console;

namespace OrtZo.Cli.Sweep;

/// <summary>The sweep's table (printed and written as <c>sweep.md</c>) and its picture of every trial's curves.</summary>
internal static class SweepReport
{
    private static readonly string[] Header = ["trial", "lr", "ε", "steps", "best dev loss", "dev acc %", "forwards", "stopped why"];

    public static IReadOnlyList<string[]> Rows(SweepState state) =>
        [.. state.Trials.Select(t =>
        {
            var last = t.Rungs.Count > 0 ? t.Rungs[^1] : null;
            return new[]
            {
                t.Name, SweepRunner.Format(t.Lr), SweepRunner.Format(t.Eps), last?.Steps.ToString(CultureInfo.InvariantCulture) ?? "0",
                last?.BestDevLoss is { } l ? l.ToString("F4", CultureInfo.InvariantCulture) : "–",
                last?.DevAccuracy is { } a ? (100 * a).ToString("F1", CultureInfo.InvariantCulture) : "–",
                last?.Forwards.ToString(CultureInfo.InvariantCulture) ?? "0",
                t.Outcome ?? (state.Finished ? "–" : "not run yet"),
            };
        })];

    public static void Print(SweepState state)
    {
        var table = new Table().AddColumns(Header);
        foreach (var row in Rows(state)) table.AddRow(row.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }

    public static string Markdown(SweepState state)
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", Header).Append(" |\n");
        text.Append('|').Append(string.Concat(Enumerable.Repeat("---|", Header.Length))).Append('\n');
        foreach (var row in Rows(state)) text.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|"))).Append(" |\n");
        text.Append('\n').Append(CultureInfo.InvariantCulture, $"{state.TotalForwards} training forwards in all");
        if (state.Winner is { } w) text.Append(CultureInfo.InvariantCulture, $"; winner {w}");
        if (state.WinnerTestAccuracy is { } ta) text.Append(CultureInfo.InvariantCulture, $", test accuracy {100 * ta:F1} %");
        text.Append(".\n");
        return text.ToString();
    }

    /// <summary>Every trial that has metrics, labelled with its name, rate (and ε when ε was searched) and the winner mark.</summary>
    public static List<RunCurves> TrialCurves(SweepState state, Func<string, string> trialFolder)
    {
        bool epsSearched = state.Trials.Select(x => x.Eps).Distinct().Count() > 1;
        return state.Trials.Where(t => File.Exists(Path.Combine(trialFolder(t.Name), TrainingLoop.MetricsFile)))
            .Select(t => RunCurves.Read(trialFolder(t.Name), $"{t.Name} lr {SweepRunner.Format(t.Lr)}" + (epsSearched ? $" ε {SweepRunner.Format(t.Eps)}" : "")
                                                             + (t.Name == state.Winner ? " (winner)" : "")))
            .ToList();
    }

    public static void WriteFiles(SweepState state, string outDir, Func<string, string> trialFolder)
    {
        AtomicFile.WriteAllText(Path.Combine(outDir, SweepRunner.TableFile), Markdown(state));
        var curves = TrialCurves(state, trialFolder);
        if (curves.Count > 0)
            CurvesFigure.Write(curves, Path.Combine(outDir, SweepRunner.PictureFile), $"sweep: {state.Trials.Count} trials" + (state.Winner is { } w ? $", winner {w}" : ""));
    }
}
