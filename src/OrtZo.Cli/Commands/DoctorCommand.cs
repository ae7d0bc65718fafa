using System.CommandLine;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Microsoft.ML.OnnxRuntime;
using OrtZo.Runtime;
using OrtZo.Engine;
using OrtZo.Engine.Reference;
using Spectre.Console;

namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo doctor</c>: what this machine and build offer, and a self-check of the weight kernels.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Report ONNX Runtime, CPU features and devices, and check the kernels against their reference");
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var table = new Table().AddColumns("", "");
            table.AddRow("ONNX Runtime (native)", Markup.Escape($"{OrtLibrary.NativeVersion} from {OrtLibrary.NativeLibraryPath ?? "the packaged library"}"));
            table.AddRow("ONNX Runtime (managed)", Markup.Escape(OrtLibrary.ManagedVersion));
            table.AddRow("execution providers", Markup.Escape(string.Join(", ", OrtEnv.Instance().GetAvailableProviders())));
            table.AddRow("CPU", Markup.Escape($"{Environment.ProcessorCount} logical cores, {RuntimeInformation.ProcessArchitecture}; AVX2 {Avx2.IsSupported}, FMA {Fma.IsSupported}, AVX-512F {Avx512F.IsSupported}; Vector<float> width {Vector<float>.Count}"));
            table.AddRow("CUDA driver", Markup.Escape(CudaDriverSummary()));
            var (agree, cases, failure) = KernelSelfCheck();
            table.AddRow("weight kernels", agree
                ? $"SIMD passes bit-identical to the scalar specification on all {cases} pass cases (f32/f16/bf16, every rule and mask)"
                : $"[red]SIMD passes DIFFER from the scalar specification[/]: {Markup.Escape(failure!)}");
            AnsiConsole.Write(table);
            return agree ? 0 : 1;
        });
        return command;
    }

    private static string CudaDriverSummary()
    {
        if (Cuda.CudaDriver.UnavailableReason is { } reason) return reason;
        try
        {
            using var context = Cuda.CudaContext.Open(0);
            var (free, total) = context.MemoryInfo();
            return $"driver {Cuda.CudaDriver.FormatVersion(Cuda.CudaDriver.DriverVersion())}, {context.DeviceName()}, {free / (1 << 20):N0} of {total / (1 << 20):N0} MiB free; "
                + "training on CUDA is not wired yet (`ortzo gpu-check` compares the CUDA kernels with the CPU oracle)";
        }
        catch (Exception e) when (e is Cuda.CudaException or Cuda.CudaUnavailableException)
        {
            return $"libcuda.so.1 loads, but: {e.Message}";
        }
    }

    /// <summary>The SIMD kernels against the scalar specification over the engine's whole case table (a few seconds).</summary>
    private static (bool Agree, int Cases, string? FirstFailure) KernelSelfCheck()
    {
        var results = PassCases.All.Select(c => PassCaseCheck.Run(c, buffers => new CpuPassRunner(buffers, Environment.ProcessorCount))).ToList();
        var failed = results.FirstOrDefault(r => !r.Passed);
        return (failed is null, results.Count, failed is null ? null : $"{failed.Case}: {failed.Detail}");
    }
}
