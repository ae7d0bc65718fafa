using System.Runtime.InteropServices;

namespace OrtZo.WeightStore;

/// <summary>Zeroed, aligned native memory owned by the engine (ORT reads it through OrtValues that do not own it).</summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private void* _pointer;

    public NativeBuffer(long byteLength, int alignment = SlabLayout.SlabAlignment)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        ByteLength = byteLength;
        _pointer = NativeMemory.AlignedAlloc((nuint)Math.Max(byteLength, 1), (nuint)alignment);
        NativeMemory.Clear(_pointer, (nuint)Math.Max(byteLength, 1));
        if (byteLength > 0) GC.AddMemoryPressure(byteLength);
    }

    public long ByteLength { get; }

    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return (byte*)_pointer;
        }
    }

    public Span<T> AsSpan<T>(long byteOffset, long count) where T : unmanaged
    {
        if (byteOffset < 0 || count < 0 || byteOffset + count * sizeof(T) > ByteLength)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"[{byteOffset}, +{count}×{sizeof(T)}) is outside a {ByteLength}-byte buffer");
        if (count > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(count), "span longer than int.MaxValue elements");
        return new Span<T>(Pointer + byteOffset, (int)count);
    }

    public void Dispose()
    {
        if (_pointer == null) return;
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
        if (ByteLength > 0) GC.RemoveMemoryPressure(ByteLength);
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer()
    {
        if (_pointer != null) NativeMemory.AlignedFree(_pointer);
    }
}
