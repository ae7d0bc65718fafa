using OrtZo.WeightStore;

namespace OrtZo.Engine.Reference;

/// <summary>How one implementation did on one pass case: identical to the specification, or where it first differed.</summary>
internal sealed record PassCaseResult(string Case, bool Passed, string Detail);

/// <summary>
/// Runs a pass case on the scalar specification and on a candidate implementation side by side and compares the
/// weights, mask bits and optimizer state after every pass, byte for byte.
/// </summary>
internal static unsafe class PassCaseCheck
{
    /// <param name="candidate">Builds the implementation under test over its own copy of the case's buffers.</param>
    public static PassCaseResult Run(PassCase c, Func<WeightBuffers, IPassRunner> candidate)
    {
        using var expected = c.Build();
        using var actual = c.Build();
        var slots = c.TrainableSlots();
        using var oracle = new ReferencePassRunner(expected.Buffers);
        using var runner = candidate(actual.Buffers);
        runner.UploadState();
        var passes = c.Passes(slots);
        for (int i = 0; i < passes.Count; i++)
        {
            oracle.Run(passes[i]);
            runner.Run(passes[i]);
            runner.DownloadState();
            if (FirstDifference(expected.Buffers, actual.Buffers) is { } where)
                return new PassCaseResult(c.Name, false, $"pass {i}: {where}");
        }
        return new PassCaseResult(c.Name, true, $"{passes.Count} passes identical");
    }

    /// <summary>Null when both hold the same bytes; otherwise what differs first, with both values.</summary>
    public static string? FirstDifference(WeightBuffers expected, WeightBuffers actual)
    {
        foreach (var slot in expected.Slab.Layout.Slots)
            if (Compare($"tensor '{slot.Spec.Name}'", expected.Slab.Bytes(slot.Index), actual.Slab.Bytes(slot.Index), slot.DType.SizeInBytes()) is { } d)
                return d;
        foreach (var (label, e, a, size) in new[] { ("mask bits", expected.MaskBits, actual.MaskBits, 8), ("state 1", expected.State1, actual.State1, 4), ("state 2", expected.State2, actual.State2, 4) })
        {
            if (e is null || a is null) continue;
            if (Compare(label, e.AsSpan<byte>(0, e.ByteLength), a.AsSpan<byte>(0, a.ByteLength), size) is { } d) return d;
        }
        return null;
    }

    private static string? Compare(string what, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int elementSize)
    {
        if (expected.SequenceEqual(actual)) return null;
        int differing = 0, first = -1;
        for (int i = 0; i < expected.Length; i += elementSize)
            if (!expected.Slice(i, elementSize).SequenceEqual(actual.Slice(i, elementSize)))
            {
                if (first < 0) first = i / elementSize;
                differing++;
            }
        string e = Convert.ToHexString(expected.Slice(first * elementSize, elementSize));
        string a = Convert.ToHexString(actual.Slice(first * elementSize, elementSize));
        return $"{what}: {differing} of {expected.Length / elementSize} elements differ; first at {first}: specification {e}, candidate {a} (little-endian bytes)";
    }
}
