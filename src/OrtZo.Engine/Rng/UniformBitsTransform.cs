using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OrtZo.Engine.Rng;

/// <summary>Raw Philox words: element n is word n % 4 of block n / 4.</summary>
internal readonly struct UniformBitsTransform : IBlockTransform<uint>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalarBlock(uint x0, uint x1, uint x2, uint x3, ref uint destination)
    {
        destination = x0;
        Unsafe.Add(ref destination, 1) = x1;
        Unsafe.Add(ref destination, 2) = x2;
        Unsafe.Add(ref destination, 3) = x3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector256Blocks(Vector256<uint> a, Vector256<uint> b, ref uint destination)
    {
        Vector256.StoreUnsafe(a, ref destination);
        Vector256.StoreUnsafe(b, ref destination, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Vector512Blocks(Vector512<uint> a, Vector512<uint> b, ref uint destination)
    {
        Vector512.StoreUnsafe(a, ref destination);
        Vector512.StoreUnsafe(b, ref destination, 16);
    }
}
