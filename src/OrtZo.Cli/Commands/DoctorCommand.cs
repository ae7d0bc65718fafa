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
            var rows = new List<(string Key, string Text, bool Bad)>
            {
                ("ONNX Runtime (native)", $"{OrtLibrary.NativeVersion} from {OrtLibrary.NativeLibraryPath ?? "the packaged library"}", false),
                ("ONNX Runtime (managed)", OrtLibrary.ManagedVersion, false),
                ("execution providers", string.Join(", ", OrtEnv.Instance().GetAvailableProviders()), false),
                ("CPU", $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.ProcessArchitecture}; AVX2 {Avx2.IsSupported}, FMA {Fma.IsSupported}, AVX-512F {Avx512F.IsSupported}; Vector<float> width {Vector<float>.Count}", false),
                ("CUDA driver", CudaDriverSummary(), false),
                ("CUDA execution provider", CudaProviderSummary(), false),
            };
            if (CudaKernelCheck() is { } gpu) rows.Add(("CUDA kernels", gpu.Text, gpu.Bad));
            var (agree, cases, failure) = KernelSelfCheck();
            rows.Add(("weight kernels", agree
                ? $"SIMD passes bit-identical to the scalar specification on all {cases} pass cases (f32/f16/bf16, every rule and mask)"
                : $"SIMD passes DIFFER from the scalar specification: {failure}", !agree));
            Write(rows);
            return agree ? 0 : 1;
        });
        return command;
    }

    /// <summary>
    /// A table on a terminal; plain <c>key: value</c> lines when the output is redirected, so that paths and
    /// messages reach logs, issue reports and scripts whole instead of wrapped at a guessed width.
    /// </summary>
    private static void Write(IReadOnlyList<(string Key, string Text, bool Bad)> rows)
    {
        if (Console.IsOutputRedirected)
        {
            foreach (var (key, text, _) in rows) Console.Out.WriteLine($"{key}: {text}");
            return;
        }
        var table = new Table().AddColumns("", "");
        foreach (var (key, text, bad) in rows)
            table.AddRow(key, bad ? $"[red]{Markup.Escape(text)}[/]" : Markup.Escape(text));
        AnsiConsole.Write(table);
    }

    private static string CudaDriverSummary()
    {
        if (Cuda.CudaDriver.UnavailableReason is { } reason) return reason;
        try
        {
            using var context = Cuda.CudaContext.Open(0);
            var (free, total) = context.MemoryInfo();
            return $"driver {Cuda.CudaDriver.FormatVersion(Cuda.CudaDriver.DriverVersion())}, {context.DeviceName()}, {free / (1 << 20):N0} of {total / (1 << 20):N0} MiB free";
        }
        catch (Exception e) when (e is Cuda.CudaException or Cuda.CudaUnavailableException)
        {
            return $"libcuda.so.1 loads, but: {e.Message}";
        }
    }

    /// <summary>Whether this build's ORT has the CUDA EP, and whether the libraries it needs load (naming the one that does not).</summary>
    private static string CudaProviderSummary()
    {
        if (!OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider.EpName))
            return $"not in this build (the CPU package of ONNX Runtime {OrtLibrary.NativeVersion}; build with -p:OrtZoGpu=true for CUDA)";
        if (Cuda.CudaDriver.UnavailableReason is not null) return "in this build, but there is no CUDA driver to run it";
        try
        {
            var loaded = CudaLibraries.Load();
            // appending it loads libonnxruntime_providers_cuda.so itself, so a dependency it misses shows here
            using var so = new SessionOptions();
            CudaProvider.Append(so, new CudaProviderSettings());
            return $"loads; CUDA libraries from {string.Join(", ", loaded.Select(Path.GetDirectoryName).Distinct())}";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return "in this build, but " + e.Message;
        }
    }

    /// <summary>A few pass cases on the CUDA kernel against the specification, when a device is there (null otherwise).</summary>
    private static (string Text, bool Bad)? CudaKernelCheck()
    {
        if (Cuda.CudaDriver.UnavailableReason is not null) return null;
        try
        {
            using var context = Cuda.CudaContext.Open(0);
            byte[] ptx = Cuda.KernelModule.EmbeddedPtx();
            var cases = PassCases.All.Where(c => c.Name.EndsWith(" adam q3 sr", StringComparison.Ordinal) || c.Name.Contains("tails") || c.Name.Contains("2^34")).ToList();
            var failed = cases.Select(c => PassCaseCheck.Run(c, b => new Cuda.CudaPassRunner(context, b, ptx))).FirstOrDefault(r => !r.Passed);
            return failed is null
                ? ($"bit-identical to the scalar specification on {cases.Count} pass cases (`ortzo gpu-check` runs all {PassCases.All.Count})", false)
                : ($"DIFFER from the scalar specification: {failed.Case}: {failed.Detail}", true);
        }
        catch (Exception e) when (e is Cuda.CudaException or Cuda.CudaUnavailableException)
        {
            return ($"not run: {e.Message}", false);
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
