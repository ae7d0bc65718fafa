namespace OrtZo.Cuda;

/// <summary>
/// Splits a byte range into staging-sized pieces. Host↔device copies go through one pinned buffer of bounded
/// size (pageable memory would make the driver stage it anyway, and pinning a whole multi-GiB slab is wasteful).
/// </summary>
internal static class Chunks
{
    public static IEnumerable<(long Offset, long Length)> Of(long totalBytes, long chunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        for (long at = 0; at < totalBytes; at += chunkBytes)
            yield return (at, Math.Min(chunkBytes, totalBytes - at));
    }
}
