namespace OrtZo.Runtime
{
    internal enum DeviceKind
    {
        Cpu,
        Cuda,
    }
}

namespace OrtZo
{
    using OrtZo.Runtime;

    /// <summary>Where a model's weights live and its forward passes run: the CPU, or a CUDA device.</summary>
    public readonly record struct ZoDevice
    {
        private ZoDevice(DeviceKind kind, int index)
        {
            Kind = kind;
            Index = index;
        }

        internal DeviceKind Kind { get; }

        /// <summary>CUDA device ordinal (0 for the CPU).</summary>
        public int Index { get; }

        public bool IsCuda => Kind == DeviceKind.Cuda;

        public static ZoDevice Cpu => new(DeviceKind.Cpu, 0);

        public static ZoDevice Cuda(int index = 0)
        {
            if (index < 0) throw OptionErrors.Fail(OptionError.OutOfRange, "--device", $"cuda:{index}: the device ordinal must be 0 or more");
            return new(DeviceKind.Cuda, index);
        }

        /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
        public static ZoDevice Parse(string text)
        {
            ArgumentNullException.ThrowIfNull(text);
            string t = text.Trim().ToLowerInvariant();
            if (t == "cpu") return Cpu;
            if (t == "cuda" || t == "gpu") return Cuda();
            if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out int i) && i >= 0) return Cuda(i);
            throw OptionErrors.Fail(OptionError.UnknownValue, "--device", $"'{text}'; expected cpu, cuda or cuda:N");
        }

        public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
    }
}
