using System.Text;
using OrtZo.Onnx;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// Reproducible starting values for adapters. Each tensor draws from its own SplitMix64 stream (see
/// <see cref="SeededNormal"/>), seeded by the run's init seed and the tensor's name, so adding or removing a
/// target never changes another tensor's values and every machine gets the same bytes.
/// </summary>
internal static class AdapterInit
{
    public static SeededNormal Stream(ulong seed, string tensorName)
    {
        // FNV-1a over the UTF-8 name, then mixed with the seed.
        ulong hash = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(tensorName))
        {
            hash ^= b;
            hash *= 0x100000001B3UL;
        }
        return new SeededNormal(hash ^ (seed * 0x9E3779B97F4A7C15UL));
    }

    /// <summary>
    /// LoRA's A: torch's kaiming_uniform_(a = √5) on an [r, in] matrix, i.e. U(−1/√in, 1/√in)
    /// (gain √(2/(1+5)) times √(3/fan_in)), as peft and ZO-Bench initialise it.
    /// </summary>
    public static float[] KaimingUniform(ulong seed, string name, long rows, long fanIn)
    {
        var random = Stream(seed, name);
        double bound = 1.0 / Math.Sqrt(fanIn);
        var values = new float[rows * fanIn];
        for (long i = 0; i < values.Length; i++) values[i] = (float)(bound * (2 * random.NextUniform() - 1));
        return values;
    }

    public static float[] Normal(ulong seed, string name, long count, double std) => Stream(seed, name).Normal(count, (float)std);

    /// <summary><paramref name="count"/> token ids uniform in [0, vocab), as torch.randint draws ZO-Bench's.</summary>
    public static long[] TokenIds(ulong seed, string purpose, int count, long vocab)
    {
        var random = Stream(seed, purpose);
        var ids = new long[count];
        for (int i = 0; i < count; i++) ids[i] = (long)(random.NextUInt64() % (ulong)vocab);
        return ids;
    }
}
