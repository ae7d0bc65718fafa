namespace OrtZo.Engine;

/// <summary>Executes weight passes on the device that holds the weights (scalar reference, CPU SIMD, CUDA).</summary>
internal interface IPassRunner : IDisposable
{
    WeightBuffers Buffers { get; }

    /// <summary>Applies one pass: every segment's program to every element of its tensors.</summary>
    void Run(IReadOnlyList<PassSegment> segments);
}
