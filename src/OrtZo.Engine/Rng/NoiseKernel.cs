using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OrtZo.Engine.Rng;

/// <summary>
/// Which implementation fills spans. All produce identical bits; the choice only affects speed.
/// Exposed internally so tests can pin every path on one machine instead of trusting whichever the
/// CPU happens to select.
/// </summary>
internal enum NoiseKernel
{
    Scalar,
    Vector256,
    Vector512,
}

internal static class NoiseKernels
{
    /// <summary>The fastest kernel this process can run.</summary>
    internal static readonly NoiseKernel Best =
        IsSupported(NoiseKernel.Vector512) && Vector512.IsHardwareAccelerated ? NoiseKernel.Vector512
        : IsSupported(NoiseKernel.Vector256) && Vector256.IsHardwareAccelerated ? NoiseKernel.Vector256
        : NoiseKernel.Scalar;

    internal static bool IsSupported(NoiseKernel kernel) => kernel switch
    {
        NoiseKernel.Scalar => true,
        // The vector kernels lean on x86-only even-lane widening multiplies and in-lane shuffles.
        NoiseKernel.Vector256 => Avx2.IsSupported && Fma.IsSupported,
        NoiseKernel.Vector512 => Avx512F.IsSupported,
        _ => false,
    };
}
