using System.Security.Cryptography;
using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>
/// The machinery of one training plan over a backend's weights: the runner (the device's kernels, mask bits and
/// optimizer state), the held-back pass and the canonical step. <see cref="Create"/> is the one way the engine is
/// wired — by the trainer, the bench, the tools and the tests alike.
/// </summary>
internal sealed class TrainingEngine : IDisposable
{
    private TrainingEngine(IWeightBackend backend, IPassRunner runner, WeightPasses passes, ZoStep step)
    {
        Backend = backend;
        Runner = runner;
        Passes = passes;
        Step = step;
    }

    /// <param name="blocks">Slab slots per parameter block, in block order (block-wise ZO; otherwise unused).</param>
    public static TrainingEngine Create(IWeightBackend backend, IReadOnlyList<TrainableTensor> tensors, int stateBuffers,
        ZoSettings settings, IReadOnlyList<IReadOnlyList<int>> blocks)
    {
        var runner = backend.CreateRunner(tensors, stateBuffers);
        try
        {
            var passes = new WeightPasses(runner);
            return new TrainingEngine(backend, runner, passes, new ZoStep(passes, settings, blocks));
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    public IWeightBackend Backend { get; }
    public IPassRunner Runner { get; }
    public WeightBuffers Buffers => Runner.Buffers;
    public WeightPasses Passes { get; }
    public ZoStep Step { get; }

    /// <summary>Runs the held-back pass, leaving θ on the device.</summary>
    public void Settle() => Passes.Settle();

    /// <summary>Settles, then makes the host copies of the weights, mask bits and optimizer state current.</summary>
    public void Download()
    {
        Settle();
        Backend.Download();
        Runner.DownloadState();
    }

    /// <summary>After the host copies were written (a checkpoint loaded): puts them on the device.</summary>
    public void Upload()
    {
        if (!Passes.IsSettled) throw new InvalidOperationException("the weights hold an unsettled pass; settle before replacing them");
        Backend.Upload();
        Runner.UploadState();
    }

    /// <summary>
    /// SHA-256 of the settled weights, optimizer state and update count, in hex: equal digests mean bit-identical
    /// replicas, whatever device each ran on.
    /// </summary>
    public unsafe string Digest()
    {
        Download();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(sha, Backend.Host.BasePointer, Backend.Host.ByteLength);
        if (Buffers.State1 is { } s1) Append(sha, s1.Pointer, s1.ByteLength);
        if (Buffers.State2 is { } s2) Append(sha, s2.Pointer, s2.ByteLength);
        sha.AppendData(BitConverter.GetBytes(Step.UpdatesApplied));
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();

        // spans hold at most 2 GiB; weights may be larger
        static void Append(IncrementalHash sha, byte* data, long length)
        {
            for (long done = 0; done < length; done += 1 << 30)
                sha.AppendData(new ReadOnlySpan<byte>(data + done, (int)Math.Min(1 << 30, length - done)));
        }
    }

    public void Dispose()
    {
        Settle();
        Runner.Dispose();
    }
}
