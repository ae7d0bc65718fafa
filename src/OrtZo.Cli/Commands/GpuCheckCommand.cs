using System.CommandLine;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using OrtZo.Cuda;
using OrtZo.Runtime;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary>
/// <c>ortzo gpu-check</c> (hidden): on a machine with a CUDA driver, runs every CUDA kernel on small slabs and
/// compares the results with the scalar C# oracle byte for byte; also reports the device and whether ORT's CUDA
/// EP can be added. The console entry point for the GPU machine, which has the .NET runtime but no SDK.
/// </summary>
internal static class GpuCheckCommand
{
    public static Command Create()
    {
        var ptxOption = new Option<FileInfo?>("--ptx") { Description = "Load this PTX instead of the embedded one (e.g. one regenerated with nvcc)" };
        var outOption = new Option<FileInfo?>("--out") { Description = "Also write the results as JSON to this file" };
        var deviceOption = new Option<int>("--device-index") { Description = "CUDA device ordinal", DefaultValueFactory = _ => 0 };
        var agreementModel = new Option<string?>("--agreement-model") { Description = "Also run whole steps on CPU and CUDA with this model folder: replay (bit-identical) and tracking runs" };
        var agreementData = new Option<string?>("--agreement-data") { Description = "Training data (jsonl) of the agreement runs" };
        var command = new Command("gpu-check", "Run the CUDA kernels against the scalar C# oracle (needs a CUDA driver)") { Hidden = true };
        command.Options.Add(ptxOption);
        command.Options.Add(outOption);
        command.Options.Add(deviceOption);
        command.Options.Add(agreementModel);
        command.Options.Add(agreementData);
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var ptxFile = result.GetValue(ptxOption);
            byte[] ptx = ptxFile is null ? KernelModule.EmbeddedPtx() : File.ReadAllBytes(CommonOptions.ExistingFile(ptxFile.FullName, "--ptx"));
            string ptxText = KernelModule.Text(ptx);
            var report = new Dictionary<string, object?>
            {
                ["ptx"] = ptxFile?.FullName ?? "embedded",
                ["ptx_source_sha256"] = KernelModule.SourceSha256(ptxText),
                ["ptx_target"] = KernelModule.Target(ptxText),
            };
            if (CudaDriver.UnavailableReason is { } reason)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(reason)}[/]");
                return 3;
            }
            using var context = CudaContext.Open(result.GetValue(deviceOption));
            var (free, total) = context.MemoryInfo();
            report["driver"] = CudaDriver.FormatVersion(CudaDriver.DriverVersion());
            report["gpu"] = context.DeviceName();
            report["memory_free_bytes"] = free;
            report["memory_total_bytes"] = total;
            AnsiConsole.MarkupLine(Markup.Escape($"{report["gpu"]}, driver {report["driver"]}, {free / (1 << 20):N0} of {total / (1 << 20):N0} MiB free; PTX {report["ptx"]} ({report["ptx_target"]})"));
            report["ort_cuda_ep"] = ProbeExecutionProvider(result.GetValue(deviceOption));
            AnsiConsole.MarkupLine(Markup.Escape($"ORT {OrtLibrary.NativeVersion}: CUDA EP {report["ort_cuda_ep"]}"));

            var results = GpuAgreementCheck.Run(context, ptx);
            if (result.GetValue(agreementModel) is { } agreeWith)
                results.AddRange(DeviceAgreement.Run(agreeWith,
                    result.GetValue(agreementData) ?? throw OptionErrors.Fail(OptionError.Conflict, "--agreement-model", "needs --agreement-data"),
                    ZoDevice.Cuda(result.GetValue(deviceOption))));
            var table = new Table().AddColumns("check", "result", "detail");
            foreach (var r in results)
                table.AddRow(Markup.Escape(r.Name), r.Passed ? "[green]same[/]" : "[red]DIFFERENT[/]", Markup.Escape(r.Detail));
            AnsiConsole.Write(table);
            int failed = results.Count(r => !r.Passed);
            AnsiConsole.MarkupLine(failed == 0 ? $"[green]all {results.Count} checks bit-identical to the oracle[/]" : $"[red]{failed} of {results.Count} checks differ[/]");
            report["checks"] = results;
            report["failed"] = failed;
            if (result.GetValue(outOption) is { } output)
                File.WriteAllText(output.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            return failed == 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>Whether a session could take ORT's CUDA EP, and by which route (the answer, or the error, as text).</summary>
    private static string ProbeExecutionProvider(int deviceIndex)
    {
        try
        {
            OrtLibrary.Initialize();
            using var so = new SessionOptions();
            return "added: " + CudaProvider.Append(so, new CudaProviderSettings(deviceIndex));
        }
        catch (Exception e) when (e is OrtZoException or OnnxRuntimeException or TypeInitializationException)
        {
            return "not added: " + e.Message;
        }
    }
}
