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

            string? agreeWith = result.GetValue(agreementModel);
            string? agreeData = result.GetValue(agreementData);
            if (agreeWith is not null && agreeData is null) throw OptionErrors.Fail(OptionError.Conflict, "--agreement-model", "needs --agreement-data");

            // Device time is scarce: every phase's results are printed and written as soon as they exist, and a phase
            // that throws is recorded as a failed check with its error, so one broken part never hides the others.
            var results = new List<GpuCheckResult>();
            RunPhase("kernels", () => GpuAgreementCheck.Run(context, ptx));
            RunPhase("execution provider", () => [ProbeExecutionProvider(result.GetValue(deviceOption))]);
            if (agreeWith is not null)
                RunPhase("agreement", () => DeviceAgreement.Run(agreeWith, agreeData!, ZoDevice.Cuda(result.GetValue(deviceOption))));
            int failed = results.Count(r => !r.Passed);
            AnsiConsole.MarkupLine(failed == 0 ? $"[green]all {results.Count} checks bit-identical to the oracle[/]" : $"[red]{failed} of {results.Count} checks differ[/]");
            return failed == 0 ? 0 : 1;

            void RunPhase(string phase, Func<IEnumerable<GpuCheckResult>> checks)
            {
                var table = new Table().AddColumns("check", "result", "detail");
                try
                {
                    foreach (var r in checks()) Record(r);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Record(new GpuCheckResult($"{phase}: stopped by an error", false, $"{e.GetType().Name}: {e.Message}"));
                }
                AnsiConsole.Write(table);
                Write();

                void Record(GpuCheckResult r)
                {
                    results.Add(r);
                    table.AddRow(Markup.Escape(r.Name), r.Passed ? "[green]same[/]" : "[red]DIFFERENT[/]", Markup.Escape(r.Detail));
                }
            }

            void Write()
            {
                report["checks"] = results;
                report["failed"] = results.Count(r => !r.Passed);
                if (result.GetValue(outOption) is { } output)
                    File.WriteAllText(output.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            }
        });
        return command;
    }

    /// <summary>
    /// Whether a session can take ORT's CUDA EP on a stream of ours, and whether ORT kept that stream (the options it
    /// reports back, recorded whole): the ordering of forwards and weight passes rests on it.
    /// </summary>
    private static GpuCheckResult ProbeExecutionProvider(int deviceIndex)
    {
        const string name = "ORT CUDA execution provider on the weights' stream";
        try
        {
            OrtLibrary.Initialize();
            using var stream = CudaStream.Create();
            using var so = new SessionOptions();
            string effective = CudaProvider.Append(so, new CudaProviderSettings(deviceIndex, stream.Handle));
            return new GpuCheckResult(name, true, $"ORT {OrtLibrary.NativeVersion}; options reported: {effective}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new GpuCheckResult(name, false, $"ORT {OrtLibrary.NativeVersion}; {e.GetType().Name}: {e.Message}");
        }
    }
}
