using OrtZo.Import;
using System.CommandLine;
using OrtZo.Onnx.Model;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo import</c>: a standard ONNX causal LM → an OrtZo model folder.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "model.onnx (initializers or external data) or a folder holding one" };
        var outDir = new Option<string>("--out") { Description = "Output model folder", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder" };
        var keep = new Option<string[]>("--keep-initializer") { Description = "Regex of float tensors that must stay initializers (repeatable)", AllowMultipleArgumentsPerToken = true };
        var bos = new Option<int?>("--bos-id") { Description = "Override the BOS id found in the source's config files" };
        var eos = new Option<int?>("--eos-id") { Description = "Override the EOS id" };
        var pad = new Option<int?>("--pad-id") { Description = "Override the pad id" };
        var maxLength = new Option<int?>("--max-length") { Description = "Override the maximum sequence length" };
        var verify = new Option<string>("--verify") { Description = "structure | session | forward", DefaultValueFactory = _ => "forward" };
        var command = new Command("import", "Convert an ONNX causal LM into an OrtZo model folder (weights become graph inputs, a scoring head is appended)")
        {
            source, outDir, overwrite, keep, bos, eos, pad, maxLength, verify,
        };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var options = new ImportOptions
            {
                Overwrite = result.GetValue(overwrite),
                KeepAsInitializer = result.GetValue(keep) ?? [],
                BosId = result.GetValue(bos),
                EosId = result.GetValue(eos),
                PadId = result.GetValue(pad),
                MaxLength = result.GetValue(maxLength),
                Verify = result.GetValue(verify) switch
                {
                    "structure" => ImportVerification.Structure,
                    "session" => ImportVerification.Session,
                    "forward" => ImportVerification.Forward,
                    var v => throw OptionErrors.Fail(OptionError.UnknownValue, "--verify", $"\'{v}\'; expected structure, session or forward"),
                },
            };
            var report = ModelImport.Import(result.GetValue(source)!, result.GetValue(outDir)!, options);
            Print(report);
            return 0;
        });
        return command;
    }

    internal static void Print(ImportReport report)
    {
        var m = report.Manifest;
        long parameters = m.WeightInputs.Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b));
        AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(report.OutputFolder)}[/]: {m.Architecture}, {m.WeightInputs.Count} weight inputs, {parameters:N0} parameters, {m.Groups.Count} groups, tokenizer {Markup.Escape(m.Tokenizer.Kind)}");
        foreach (var (name, reason) in report.KeptInitializers) AnsiConsole.MarkupLine($"  kept as initializer: {Markup.Escape(name)} ({Markup.Escape(reason)})");
        foreach (string v in report.RemovedCacheValues) AnsiConsole.MarkupLine($"  cache input replaced by an empty tensor: {Markup.Escape(v)}");
        foreach (string o in report.DroppedOutputs) AnsiConsole.MarkupLine($"  output dropped: {Markup.Escape(o)}");
        foreach (string f in report.FrozenWeights) AnsiConsole.MarkupLine($"  [yellow]frozen (inside a subgraph):[/] {Markup.Escape(f)}");
        foreach (string n in report.Notes) AnsiConsole.MarkupLine($"  note: {Markup.Escape(n)}");
    }
}
