using System.CommandLine;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Microsoft.ML.OnnxRuntime;
using OrtZo.Runtime;
using OrtZo.WeightStore;
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
            var (agree, elements) = KernelSelfCheck();
            table.AddRow("weight kernels", agree ? $"SIMD passes bit-identical to the scalar reference ({elements:N0} weights, f32/f16/bf16)" : "[red]SIMD passes DIFFER from the scalar reference[/]");
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

    private static (bool Agree, long Elements) KernelSelfCheck()
    {
        long elements = 0;
        foreach (var dtype in new[] { DType.F32, DType.F16, DType.BF16 })
        {
            var specs = new[] { new TensorSpec("a", dtype, [1000]), new TensorSpec("b", dtype, [77, 13]) };
            using var one = CpuSlab.Allocate(SlabLayout.Create(specs));
            using var two = CpuSlab.Allocate(SlabLayout.Create(specs));
            var rnd = new Random(1);
            foreach (var s in one.Layout.Slots)
            {
                var v = Enumerable.Range(0, (int)s.ElementCount).Select(_ => (float)(rnd.NextDouble() - 0.5) * 0.1f).ToArray();
                one.WriteFloat32(s.Index, v);
                two.WriteFloat32(s.Index, v);
            }
            List<TrainableTensor> Tensors(CpuSlab slab) => slab.Layout.Slots.Select(s => new TrainableTensor
            {
                Slot = s, Mask = s.Index == 0 ? MaskKind.Dense : MaskKind.Magnitude, Threshold = 0.02f, Group = "g", Decay = true,
                StateBase = s.Index == 0 ? 0 : slab.Layout.Slots[0].ElementCount,
            }).ToList();
            using var a = new WeightBuffers(one, Tensors(one), 2);
            using var b = new WeightBuffers(two, Tensors(two), 2);
            using var simd = new CpuPassRunner(b, Environment.ProcessorCount);
            var p = new Perturbation(5, 1e-3f, 0);
            var update = new UpdateSpec { Rule = UpdateRule.Adam, Directions = [new Direction(5, 0.3f)], LearningRate = 1e-3f, Beta1 = 0.9f, Beta2 = 0.999f, AdamEpsilon = 1e-8f, AdamStepSize = 1e-2f, AdamBias2Sqrt = 0.04f, WeightDecay = 0.01f };
            PassSegment[][] passes =
            [
                [new PassSegment { Slots = [0, 1], Apply = p, RecomputeMask = true }],
                [new PassSegment { Slots = [0, 1], Remove = p, Apply = p.Negated }],
                [new PassSegment { Slots = [0, 1], Remove = p.Negated, Update = update }],
            ];
            foreach (var pass in passes)
            {
                ScalarPassRunner.Run(a, pass);
                simd.Run(pass);
            }
            for (int i = 0; i < 2; i++)
                if (!one.Bytes(i).SequenceEqual(two.Bytes(i))) return (false, elements);
            elements += one.Layout.ElementCount;
        }
        return (true, elements);
    }
}
