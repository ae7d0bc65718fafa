using System.Security.Cryptography;
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Tasks;

namespace OrtZo.Tests.Tasks;

/// <summary>NumpyLegacyRandom against numpy 1.24 itself (Fixtures/tasks/numpy_golden.json, from make_numpy_golden.py).</summary>
public class NumpyLegacyRandomTests
{
    private static JsonElement Golden()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(TaskFixtures.PathOf("numpy_golden.json")));
        return document.RootElement.Clone();
    }

    [Test]
    public void RawOutputsMatchNumpysMersenneTwister()
    {
        JsonElement golden = Golden();
        int[] at = golden.GetProperty("raw_outputs_at").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        foreach (JsonElement item in golden.GetProperty("raw").EnumerateArray())
        {
            uint seed = item.GetProperty("seed").GetUInt32();
            var random = new NumpyLegacyRandom(seed);
            uint[] outputs = Enumerable.Range(0, at.Max() + 1).Select(_ => random.NextUInt32()).ToArray();
            Assert.That(at.Select(i => outputs[i]), Is.EqualTo(item.GetProperty("uint32").EnumerateArray().Select(e => e.GetUInt32())), $"seed {seed}");
        }
    }

    [Test]
    public void PermutationsMatchNumpyExactly()
    {
        foreach (JsonElement item in Golden().GetProperty("permutations").EnumerateArray())
        {
            uint seed = item.GetProperty("seed").GetUInt32();
            int n = item.GetProperty("n").GetInt32();
            int[] permutation = new NumpyLegacyRandom(seed).Permutation(n);
            string label = $"seed {seed}, n {n}";
            Assert.That(permutation.Take(50), Is.EqualTo(item.GetProperty("first").EnumerateArray().Select(e => e.GetInt32())), label);
            Assert.That(permutation.TakeLast(Math.Min(50, n)), Is.EqualTo(item.GetProperty("last").EnumerateArray().Select(e => e.GetInt32())), label);
            byte[] int64LittleEndian = permutation.SelectMany(v => BitConverter.GetBytes((long)v)).ToArray();
            Assert.That(Convert.ToHexStringLower(SHA256.HashData(int64LittleEndian)), Is.EqualTo(item.GetProperty("sha256_int64_le").GetString()), label);
        }
    }

    [Test]
    public void GoldenCoversMezosSplitSizes()
    {
        int[] sizes = Golden().GetProperty("permutations").EnumerateArray().Select(e => e.GetProperty("n").GetInt32()).ToArray();
        Assert.That(sizes, Is.SupersetOf(new[] { 872, 2490, 67349 }));
    }

    [Test]
    public void IntervalStaysWithinItsBound()
    {
        var random = new NumpyLegacyRandom(7);
        foreach (uint max in new uint[] { 0, 1, 2, 3, 5, 1000, uint.MaxValue })
        {
            for (int i = 0; i < 200; i++)
            {
                Assert.That(random.Interval(max), Is.LessThanOrEqualTo(max));
            }
        }
    }
}
