namespace OrtZo.Cuda;

/// <summary>
/// Grid shape for a grid-stride kernel: enough blocks to fill every multiprocessor several times over (so
/// memory latency is hidden) but no more than the work needs; each thread then strides over the rest.
/// </summary>
internal readonly record struct LaunchConfiguration(uint GridX, uint BlockX)
{
    public const uint ThreadsPerBlock = 256;

    /// <summary>Resident blocks per SM the grid aims for (2,048 threads per SM on sm_80/sm_90 at 256 per block).</summary>
    public const uint BlocksPerMultiprocessor = 8;

    public static LaunchConfiguration For(long workItems, int multiprocessors)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workItems);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(multiprocessors);
        long needed = (workItems + ThreadsPerBlock - 1) / ThreadsPerBlock;
        long cap = (long)multiprocessors * BlocksPerMultiprocessor;
        return new LaunchConfiguration((uint)Math.Max(1, Math.Min(needed, cap)), ThreadsPerBlock);
    }
}
