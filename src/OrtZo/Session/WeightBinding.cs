using Microsoft.ML.OnnxRuntime;
using OrtZo.Engine;

namespace OrtZo.Session;

/// <summary>
/// Binds every weight of a backend as a graph input of an IoBinding, over the backend's own memory: OrtValues
/// that do not own their data, tagged with the memory they point into, so ORT reads the buffers the engine edits
/// (never a copy made at bind time, which would silently stop seeing updates).
/// </summary>
internal static class WeightBinding
{
    public static List<OrtValue> Bind(OrtIoBinding binding, IWeightBackend weights)
    {
        var memory = MemoryInfo(weights);
        var values = new List<OrtValue>(weights.Layout.Slots.Count);
        try
        {
            foreach (var slot in weights.Layout.Slots)
            {
                var value = OrtValue.CreateTensorValueWithData(memory, ScoringSession.ElementType(slot.DType), slot.Spec.Shape.ToArray(),
                    weights.Address(slot.Index), slot.Spec.ByteLength);
                values.Add(value);
                binding.BindInput(slot.Spec.Name, value);
            }
            return values;
        }
        catch
        {
            foreach (var v in values) v.Dispose();
            throw;
        }
        finally
        {
            // each tensor keeps its own copy of the memory info
            if (!ReferenceEquals(memory, OrtMemoryInfo.DefaultInstance)) memory.Dispose();
        }
    }

    /// <summary>The memory-info that OrtValues over a backend's weight buffers must carry.</summary>
    public static OrtMemoryInfo MemoryInfo(IWeightBackend weights) => weights.Memory switch
    {
        WeightMemory.Host => OrtMemoryInfo.DefaultInstance,
        WeightMemory.CudaDevice => new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, weights.DeviceIndex, OrtMemType.Default),
        _ => throw new ArgumentOutOfRangeException(nameof(weights), weights.Memory, null),
    };
}
