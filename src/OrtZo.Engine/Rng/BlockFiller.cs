using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OrtZo.Engine.Rng;

/// <summary>
/// The span-filling loop shared by every output kind: a scalar head for a firstIndex that starts
/// mid-block, a vector body, and a tail that runs one more vector step into stack scratch (cheaper
/// than up to seven scalar blocks) before copying out what the span needs.
/// </summary>
internal static class BlockFiller
{
    internal static void Fill<TTransform, TOut>(
        ulong seed, NoiseStream stream, long firstIndex, Span<TOut> destination, NoiseKernel kernel)
        where TTransform : IBlockTransform<TOut>
        where TOut : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstIndex);
        if (destination.Length > long.MaxValue - firstIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), "firstIndex + length overflows the 63-bit index space.");
        }

        if (!NoiseKernels.IsSupported(kernel))
        {
            throw new PlatformNotSupportedException($"Noise kernel {kernel} is not supported on this CPU.");
        }

        if (destination.IsEmpty)
        {
            return;
        }

        ulong block = (ulong)firstIndex / NoiseLayout.LanesPerBlock;
        int lane = (int)(firstIndex % NoiseLayout.LanesPerBlock);
        Span<TOut> scratch = stackalloc TOut[32];
        int done = 0;

        if (lane != 0)
        {
            ScalarBlocks<TTransform, TOut>(seed, stream, block, 1, ref MemoryMarshal.GetReference(scratch));
            done = Math.Min(NoiseLayout.LanesPerBlock - lane, destination.Length);
            scratch.Slice(lane, done).CopyTo(destination);
            block++;
        }

        int fullBlocks = (destination.Length - done) / NoiseLayout.LanesPerBlock;
        if (fullBlocks > 0)
        {
            Span<TOut> body = destination.Slice(done, fullBlocks * NoiseLayout.LanesPerBlock);
            switch (kernel)
            {
                case NoiseKernel.Vector512:
                    Vector512Blocks<TTransform, TOut>(seed, stream, block, body, scratch);
                    break;
                case NoiseKernel.Vector256:
                    Vector256Blocks<TTransform, TOut>(seed, stream, block, body, scratch);
                    break;
                default:
                    ScalarBlocks<TTransform, TOut>(seed, stream, block, fullBlocks, ref MemoryMarshal.GetReference(body));
                    break;
            }

            done += body.Length;
            block += (ulong)fullBlocks;
        }

        if (done < destination.Length)
        {
            ScalarBlocks<TTransform, TOut>(seed, stream, block, 1, ref MemoryMarshal.GetReference(scratch));
            scratch[..(destination.Length - done)].CopyTo(destination[done..]);
        }
    }

    private static void ScalarBlocks<TTransform, TOut>(
        ulong seed, NoiseStream stream, ulong block, int count, ref TOut destination)
        where TTransform : IBlockTransform<TOut>
        where TOut : unmanaged
    {
        for (int i = 0; i < count; i++)
        {
            NoiseLayout.Block(seed, stream, block + (ulong)i, out uint x0, out uint x1, out uint x2, out uint x3);
            TTransform.ScalarBlock(x0, x1, x2, x3, ref Unsafe.Add(ref destination, i * NoiseLayout.LanesPerBlock));
        }
    }

    // body.Length is a multiple of 4 (whole blocks); 8 blocks per step, two 4-block vectors so the
    // two Philox dependency chains overlap.
    private static void Vector512Blocks<TTransform, TOut>(
        ulong seed, NoiseStream stream, ulong block, Span<TOut> body, Span<TOut> scratch)
        where TTransform : IBlockTransform<TOut>
        where TOut : unmanaged
    {
        const int ElementsPerStep = 32;
        Vector512<uint> key = PhiloxVector.Key512(seed);
        ulong s = (uint)stream;
        // As 64-bit lanes, words (c0, c1) are just the block number and (c2, c3) the stream, so
        // carries from c0 into c1 come for free with a 64-bit add.
        Vector512<ulong> counterA = Vector512.Create(block, s, block + 1, s, block + 2, s, block + 3, s);
        Vector512<ulong> counterB = counterA + Vector512.Create(4UL, 0, 4, 0, 4, 0, 4, 0);
        Vector512<ulong> advance = Vector512.Create(8UL, 0, 8, 0, 8, 0, 8, 0);

        ref TOut destination = ref MemoryMarshal.GetReference(body);
        int offset = 0;
        for (; offset <= body.Length - ElementsPerStep; offset += ElementsPerStep)
        {
            Vector512<uint> a = counterA.AsUInt32(), b = counterB.AsUInt32();
            PhiloxVector.Generate(ref a, ref b, key);
            TTransform.Vector512Blocks(a, b, ref Unsafe.Add(ref destination, offset));
            counterA += advance;
            counterB += advance;
        }

        if (offset < body.Length)
        {
            Vector512<uint> a = counterA.AsUInt32(), b = counterB.AsUInt32();
            PhiloxVector.Generate(ref a, ref b, key);
            TTransform.Vector512Blocks(a, b, ref MemoryMarshal.GetReference(scratch));
            scratch[..(body.Length - offset)].CopyTo(body[offset..]);
        }
    }

    private static void Vector256Blocks<TTransform, TOut>(
        ulong seed, NoiseStream stream, ulong block, Span<TOut> body, Span<TOut> scratch)
        where TTransform : IBlockTransform<TOut>
        where TOut : unmanaged
    {
        const int ElementsPerStep = 16;
        Vector256<uint> key = PhiloxVector.Key256(seed);
        ulong s = (uint)stream;
        Vector256<ulong> counterA = Vector256.Create(block, s, block + 1, s);
        Vector256<ulong> counterB = counterA + Vector256.Create(2UL, 0, 2, 0);
        Vector256<ulong> advance = Vector256.Create(4UL, 0, 4, 0);

        ref TOut destination = ref MemoryMarshal.GetReference(body);
        int offset = 0;
        for (; offset <= body.Length - ElementsPerStep; offset += ElementsPerStep)
        {
            Vector256<uint> a = counterA.AsUInt32(), b = counterB.AsUInt32();
            PhiloxVector.Generate(ref a, ref b, key);
            TTransform.Vector256Blocks(a, b, ref Unsafe.Add(ref destination, offset));
            counterA += advance;
            counterB += advance;
        }

        if (offset < body.Length)
        {
            Vector256<uint> a = counterA.AsUInt32(), b = counterB.AsUInt32();
            PhiloxVector.Generate(ref a, ref b, key);
            TTransform.Vector256Blocks(a, b, ref MemoryMarshal.GetReference(scratch));
            scratch[..(body.Length - offset)].CopyTo(body[offset..]);
        }
    }
}
