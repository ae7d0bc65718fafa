namespace OrtZo.WeightStore;

/// <summary>Where the bytes of a tensor to be written come from (managed array, native memory, or a callback).</summary>
internal abstract class TensorSource
{
    protected TensorSource(TensorSpec spec) => Spec = spec;

    public TensorSpec Spec { get; }

    /// <summary>Writes exactly <c>Spec.ByteLength</c> bytes.</summary>
    public abstract void WriteTo(Stream destination);

    public static TensorSource FromBytes(TensorSpec spec, byte[] bytes) => new ArraySource(spec, bytes);

    public static TensorSource FromFloats(TensorSpec spec, float[] values) => new FloatArraySource(spec, values);

    public static unsafe TensorSource FromPointer(TensorSpec spec, byte* pointer) => new PointerSource(spec, pointer);

    private sealed class ArraySource : TensorSource
    {
        private readonly byte[] _bytes;
        public ArraySource(TensorSpec spec, byte[] bytes) : base(spec)
        {
            if (bytes.LongLength != spec.ByteLength)
                throw new ArgumentException($"tensor '{spec.Name}': {bytes.Length} bytes given, {spec.ByteLength} expected");
            _bytes = bytes;
        }
        public override void WriteTo(Stream destination) => destination.Write(_bytes);
    }

    private sealed class FloatArraySource : TensorSource
    {
        private readonly float[] _values;
        public FloatArraySource(TensorSpec spec, float[] values) : base(spec)
        {
            if (values.LongLength != spec.ElementCount)
                throw new ArgumentException($"tensor '{spec.Name}': {values.Length} values given, {spec.ElementCount} expected");
            if (!spec.DType.IsTrainableFloat())
                throw new ArgumentException($"tensor '{spec.Name}': floats cannot be written as {spec.DType}");
            _values = values;
        }
        public override void WriteTo(Stream destination)
        {
            var buffer = new byte[Spec.ByteLength];
            FloatConversions.FromFloat32(_values, Spec.DType, buffer);
            destination.Write(buffer);
        }
    }

    private sealed unsafe class PointerSource : TensorSource
    {
        private readonly byte* _pointer;
        public PointerSource(TensorSpec spec, byte* pointer) : base(spec) => _pointer = pointer;
        public override void WriteTo(Stream destination)
        {
            const int Chunk = 1 << 24;
            for (long done = 0; done < Spec.ByteLength; done += Chunk)
            {
                int n = (int)Math.Min(Chunk, Spec.ByteLength - done);
                destination.Write(new ReadOnlySpan<byte>(_pointer + done, n));
            }
        }
    }
}
