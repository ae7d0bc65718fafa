namespace OrtZo.Runtime;

public enum DeviceKind
{
    Cpu,
    Cuda,
}

/// <summary>Where the weights live and the forward passes run.</summary>
public readonly record struct ZoDevice(DeviceKind Kind, int Index = 0)
{
    public static ZoDevice Cpu => new(DeviceKind.Cpu);

    public static ZoDevice Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static ZoDevice Parse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda" || t == "gpu") return Cuda();
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out int i) && i >= 0) return Cuda(i);
        throw OptionErrors.Fail(OptionError.UnknownValue, "--device", $"'{text}'; expected cpu, cuda or cuda:N");
    }

    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
