using NUnit.Framework;
using OrtZo.Engine.Rng;

namespace OrtZo.Tests.Rng;

public class DeriveSeedTests
{
    [Test]
    public void IsPhiloxOfStepAndQueryUnderTheMasterSeed()
    {
        const ulong Master = 0xfedcba9876543210;
        foreach (long step in new[] { 0L, 1L, 0xffff_ffffL, 0x1_0000_0000L, long.MaxValue })
        {
            foreach (int query in new[] { 0, 1, int.MaxValue })
            {
                Philox4x32.Generate((uint)step, (uint)(step >> 32), (uint)query, 3u, 0x76543210, 0xfedcba98,
                    out uint x0, out uint x1, out _, out _);
                Assert.That(Noise.DeriveSeed(Master, step, query), Is.EqualTo(x0 | ((ulong)x1 << 32)));
            }
        }
    }

    [Test]
    public void SeedsAreDistinctAcrossStepsQueriesAndMasters()
    {
        // 2 masters × 2^19 steps × 4 queries ≈ 4.2 M 64-bit values: a birthday collision among random
        // ones has probability ≈ n²/2^65 ≈ 5e-7, so any duplicate means a structural defect. Half the
        // steps sit just past 2^32 so the counter's high word is exercised too.
        const int Steps = 1 << 19;
        ulong[] seeds = new ulong[2 * Steps * 4];
        int next = 0;
        foreach (ulong master in new ulong[] { 0, 1 })
        {
            for (long step = 0; step < Steps; step++)
            {
                long s = step < Steps / 2 ? step : (1L << 32) - Steps / 2 + step;
                for (int query = 0; query < 4; query++)
                {
                    seeds[next++] = Noise.DeriveSeed(master, s, query);
                }
            }
        }

        Array.Sort(seeds);
        for (int i = 1; i < seeds.Length; i++)
        {
            if (seeds[i] == seeds[i - 1])
            {
                Assert.Fail($"duplicate derived seed 0x{seeds[i]:x16}");
            }
        }
    }

    [Test]
    public void DerivedSeedsDoNotReproduceElementNoise()
    {
        // The derivation blocks use c3 = 3 while element blocks use c3 = 0, so the words behind
        // DeriveSeed(m, step, q) differ from the raw bits at the index with the same (c0, c1, c2).
        const ulong Master = 123;
        for (long step = 0; step < 64; step++)
        {
            ulong derived = Noise.DeriveSeed(Master, step, (int)NoiseStream.SeedDerivation);
            uint w0 = Noise.UniformBits(Master, NoiseStream.SeedDerivation, step * 4);
            uint w1 = Noise.UniformBits(Master, NoiseStream.SeedDerivation, step * 4 + 1);
            Assert.That(derived, Is.Not.EqualTo(w0 | ((ulong)w1 << 32)));
        }
    }
}
