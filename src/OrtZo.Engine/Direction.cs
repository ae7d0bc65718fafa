namespace OrtZo.Engine;

/// <summary>One term of the gradient estimate: ĝ_i += Coefficient · z_i(Seed) (masked by the step's mask).</summary>
internal readonly record struct Direction(ulong Seed, float Coefficient);
