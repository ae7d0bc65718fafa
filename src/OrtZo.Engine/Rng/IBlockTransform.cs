using System.Runtime.Intrinsics;

namespace OrtZo.Engine.Rng;

/// <summary>
/// Turns Philox output words into stored elements. A static-abstract interface lets
/// <see cref="BlockFiller"/> share one loop (partial blocks, vector body, tail) across normals,
/// uniforms and raw bits while the JIT still specialises and inlines each transform.
/// Vector inputs hold blocks in natural word order, one block per 128-bit lane; <c>a</c> precedes
/// <c>b</c> in element order.
/// </summary>
internal interface IBlockTransform<TOut>
    where TOut : unmanaged
{
    /// <summary>Writes the 4 elements of one block.</summary>
    static abstract void ScalarBlock(uint x0, uint x1, uint x2, uint x3, ref TOut destination);

    /// <summary>Writes the 16 elements of 4 blocks.</summary>
    static abstract void Vector256Blocks(Vector256<uint> a, Vector256<uint> b, ref TOut destination);

    /// <summary>Writes the 32 elements of 8 blocks.</summary>
    static abstract void Vector512Blocks(Vector512<uint> a, Vector512<uint> b, ref TOut destination);
}
