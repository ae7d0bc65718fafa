using System.CommandLine;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo export</c>: a tuned model (full or adapter folder) as a standard ONNX causal LM with its tokenizer files, or as an onnxruntime-genai model folder.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Tuned OrtZo model folder, or an adapter folder a PEFT run saved (best/, final/)", Required = true };
        var outDir = new Option<string>("--out") { Description = "Folder to write: model.onnx [+ model.onnx.data], tokenizer files, export.json (genai: also genai_config.json, the tokenizer as tokenizer.json + tokenizer_config.json)", Required = true };
        var merge = new Option<bool>("--merge-lora")
        {
            Description = "LoRA: fold (α/r)·B·A into the base weights (true, the original graph) or keep the low-rank branch (false)",
            DefaultValueFactory = _ => true,
        };
        var format = new Option<string>("--format")
        {
            Description = "onnx: a plain ONNX causal LM (ONNX Runtime); genai: an onnxruntime-genai model folder with a KV cache",
            DefaultValueFactory = _ => "onnx",
        };
        format.AcceptOnlyFromAmong("onnx", "genai");
        var loraAdapter = new Option<bool>("--lora-adapter")
        {
            Description = "LoRA: write the base once (A/B as optional inputs, zero by default) and this run as an ONNX Runtime .onnx_adapter file beside it; " +
                          "into an existing base export of the same base model and format only the adapter file is added (genai: GenAI's Adapters.LoadAdapter reads it)",
        };
        var adapterName = new Option<string?>("--adapter-name") { Description = "With --lora-adapter: the adapter file's name (default: the run folder's name)" };
        var threads = CommonOptions.Threads();
        var command = new Command("export", "Write a tuned model in a form ONNX Runtime apps load: a plain ONNX causal LM, an onnxruntime-genai folder with a KV cache, or LoRA adapter files on a shared base")
        {
            model, outDir, format, merge, loraAdapter, adapterName, threads,
        };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            using var zo = ZoModel.Open(result.GetValue(model)!, threads: result.GetValue(threads));
            var report = zo.Export(result.GetValue(outDir)!, new ExportOptions
            {
                Format = result.GetValue(format) == "genai" ? ExportFormat.GenAi : ExportFormat.Onnx,
                MergeLora = result.GetValue(merge) && !result.GetValue(loraAdapter),
                LoraAdapter = result.GetValue(loraAdapter),
                AdapterName = result.GetValue(adapterName),
            });
            string scheme = report.Scheme.ToString().ToLowerInvariant();
            AnsiConsole.MarkupLine($"exported {Markup.Escape(zo.FolderPath)} ({scheme}{(report.Scheme == PeftScheme.Lora ? report.AdapterFile is not null ? ", LoRA as an adapter file" : report.LoraMerged ? ", LoRA merged" : ", LoRA kept as a branch" : "")}): " +
                                   $"{report.Parameters:N0} parameters");
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(report.Folder)}: {Markup.Escape(string.Join(", ", report.Files))}");
            return 0;
        });
        return command;
    }
}
