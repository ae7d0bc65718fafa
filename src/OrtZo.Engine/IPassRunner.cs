namespace OrtZo.Engine;

/// <summary>
/// Executes weight passes on the device that holds the weights (scalar reference, CPU SIMD, CUDA) and owns the
/// training state there: Sparse-MeZO mask bits and optimizer state.
/// </summary>
internal interface IPassRunner : IDisposable
{
    /// <summary>The plan and the host copies of mask bits and optimizer state (the state itself on the CPU).</summary>
    WeightBuffers Buffers { get; }

    /// <summary>Applies one pass: every segment's program to every element of its tensors.</summary>
    void Run(IReadOnlyList<PassSegment> segments);

    /// <summary>Makes the host copies of mask bits and optimizer state current.</summary>
    void DownloadState();

    /// <summary>Makes the device's mask bits and optimizer state equal the host copies.</summary>
    void UploadState();

    /// <summary>Waits until every pass run so far has finished (passes on a device only enqueue; for timing).</summary>
    void Synchronize() { }
}
