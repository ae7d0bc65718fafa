using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OrtZo.Engine.Rng;

/// <summary>Each Philox word mapped to its own uniform in (0,1) by <see cref="NoiseLayout.ToUniform(uint)"/>.</summary>
internal readonly struct UniformTransform : IBlockTransform<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalarBlock(uint x0, uint x1, uint x2, uint x3, ref float destination)
    {
        destination = NoiseLayout.ToUniform(x0);
        Unsafe.Add(ref destination, 1) = NoiseLayout.ToUniform(x1);
        Unsafe.Add(ref destination, 2) = NoiseLayout.ToUniform(x2);
        Unsafe.Add(ref destination, 3) = NoiseLayout.ToUniform(x3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector256Blocks(Vector256<uint> a, Vector256<uint> b, ref float destination)
    {
        Vector256.StoreUnsafe(NoiseLayout.ToUniform(a), ref destination);
        Vector256.StoreUnsafe(NoiseLayout.ToUniform(b), ref destination, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector512Blocks(Vector512<uint> a, Vector512<uint> b, ref float destination)
    {
        Vector512.StoreUnsafe(NoiseLayout.ToUniform(a), ref destination);
        Vector512.StoreUnsafe(NoiseLayout.ToUniform(b), ref destination, 16);
    }
}
