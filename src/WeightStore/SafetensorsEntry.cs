namespace OrtZo.WeightStore;

/// <summary>One tensor of a safetensors file: its spec and where its bytes start, relative to the data buffer.</summary>
internal sealed record SafetensorsEntry(TensorSpec Spec, long DataOffset);
