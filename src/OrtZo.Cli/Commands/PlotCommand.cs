using System.CommandLine;
using OrtZo.Cli.Plots;
using OrtZo.Cli.Sweep;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo plot</c>: one picture of one or more runs' curves, overlaid.</summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run folders (--out of train; a sweep folder stands for all its trials)", Arity = ArgumentArity.OneOrMore };
        var outFile = new Option<string>("--out") { Description = "PNG file to write", DefaultValueFactory = _ => "curves.png" };
        var size = new Option<string>("--size") { Description = "WIDTHxHEIGHT in pixels", DefaultValueFactory = _ => $"{CurvesFigure.DefaultWidth}x{CurvesFigure.DefaultHeight}" };
        var title = new Option<string?>("--title") { Description = "Title above the loss panel" };
        var command = new Command("plot", "Draw runs' training loss (smoothed), dev loss and accuracy and learning rate, overlaid, with skipped steps marked") { runs, outFile, size, title };
        command.SetAction(result =>
        {
            var curves = new List<RunCurves>();
            foreach (string folder in result.GetValue(runs)!)
            {
                string trials = Path.Combine(folder, SweepRunner.TrialsFolder);
                if (!File.Exists(Path.Combine(folder, TrainingLoop.MetricsFile)) && SweepState.Read(Path.GetFullPath(folder)) is { } sweep)
                    curves.AddRange(SweepReport.TrialCurves(sweep, name => Path.Combine(trials, name)));
                else
                    curves.Add(RunCurves.Read(folder));
            }
            var (width, height) = ParseSize(result.GetValue(size)!);
            string path = result.GetValue(outFile)!;
            CurvesFigure.Write(curves, path, result.GetValue(title), width, height);
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.GetFullPath(path))}: {curves.Count} run(s), {width}x{height}");
            return 0;
        });
        return command;
    }

    internal static (int Width, int Height) ParseSize(string text)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], out int w) && int.TryParse(parts[1], out int h)) return (w, h);
        throw OptionErrors.Fail(OptionError.UnknownValue, "--size", $"'{text}': expected WIDTHxHEIGHT, e.g. 1000x900");
    }
}
