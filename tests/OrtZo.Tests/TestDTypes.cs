using OrtZo.WeightStore;

namespace OrtZo.Tests;

/// <summary>Storage types named in test cases by their short names (test methods are public; DType is internal).</summary>
internal static class TestDTypes
{
    public static readonly string[] All = ["f32", "f16", "bf16"];

    public static DType Parse(string name) =>
        DTypeExtensions.TryParseShortName(name, out var dtype) ? dtype : throw new ArgumentException($"no dtype '{name}'", nameof(name));
}
