using System.CommandLine;
using OrtZo.Onnx.Model;
using OrtZo.WeightStore;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo info &lt;dir&gt;</c>: what a model folder holds.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("dir") { Description = "An OrtZo model folder" };
        var command = new Command("info", "Describe an OrtZo model folder: weights, groups, tokenizer") { folder };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var model = ModelFolder.Open(result.GetValue(folder)!);
            var m = model.Manifest;
            var layout = model.CreateLayout();
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(model.Path)}[/]");
            AnsiConsole.MarkupLine($"architecture {Markup.Escape(m.Architecture)}, vocab {m.VocabSize}, max length {m.MaxLength}");
            AnsiConsole.MarkupLine($"{m.WeightInputs.Count} weight inputs, {layout.ElementCount:N0} parameters, slab {layout.ByteLength / 1048576.0:F1} MiB");
            AnsiConsole.MarkupLine($"tokenizer {Markup.Escape(m.Tokenizer.Kind)} ({Markup.Escape(string.Join(", ", m.Tokenizer.Files))}), bos {m.Tokenizer.BosId?.ToString() ?? "-"}, eos {m.Tokenizer.EosId?.ToString() ?? "-"}, pad {m.Tokenizer.PadId?.ToString() ?? "-"}");
            var table = new Table().AddColumns("group", "tensors", "parameters", "roles");
            foreach (string g in m.Groups)
            {
                var ws = m.WeightInputs.Where(w => w.Group == g).ToList();
                long count = ws.Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b));
                table.AddRow(Markup.Escape(g), ws.Count.ToString(), count.ToString("N0"),
                    Markup.Escape(string.Join(", ", ws.GroupBy(w => w.Role).Select(r => $"{r.Key.ToString().ToLowerInvariant()}×{r.Count()}"))));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
