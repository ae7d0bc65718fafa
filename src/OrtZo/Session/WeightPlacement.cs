using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;

namespace OrtZo.Session;

/// <summary>
/// Proves, when a session is created, that ORT reads every weight input from the memory the engine edits. A weight
/// bound from device memory but consumed by a node ORT placed on another device (a CPU fallback) would be copied
/// once at bind time and then silently never change: training would run on frozen weights. ORT reports, per input,
/// the memory it expects the input in (GetMemoryInfosForInputs, the same placement its "Node placements" log
/// shows); a weight whose expected memory is not the backend's is an error naming the input and the nodes that read
/// it. An input no node of the saved graph reads is left out: nothing reads it, stale or not.
/// </summary>
internal static class WeightPlacement
{
    /// <summary>Device memory of CUDA device <paramref name="deviceIndex"/>, by device type and ordinal (not by allocator name).</summary>
    public static Func<OrtMemoryInfo, bool> CudaDevice(int deviceIndex) =>
        info => info.GetDeviceType() == OrtMemoryInfoDeviceType.GPU && info.Id == deviceIndex;

    public static readonly Func<OrtMemoryInfo, bool> Host = info => info.GetDeviceType() == OrtMemoryInfoDeviceType.CPU;

    /// <param name="inEngineMemory">Whether ORT's expected memory for an input is the one the engine's weights live in.</param>
    /// <param name="memoryName">That memory, as the error names it ("CUDA device 0").</param>
    public static void Verify(InferenceSession session, IReadOnlyCollection<string> weightNames, Func<OrtMemoryInfo, bool> inEngineMemory,
        string memoryName, string graphPath)
    {
        var wrong = ExpectedMemory(session, m => (Ok: inEngineMemory(m), m.Name))
            .Where(p => weightNames.Contains(p.Input) && !p.Memory.Ok)
            .Select(p => (p.Input, Memory: p.Memory.Name))
            .ToList();
        if (wrong.Count == 0) return;
        var readers = Readers(graphPath, wrong.Select(w => w.Input));
        if (readers is not null) wrong.RemoveAll(w => readers[w.Input].Count == 0);
        if (wrong.Count == 0) return;
        var (input, memory) = wrong[0];
        string readBy = readers is null ? "nodes of a graph that could not be re-read" : string.Join(", ", readers[input]);
        throw OptionErrors.Device(DeviceError.CpuFallback,
            $"{graphPath}: weight input '{input}' is read in {memory} memory (by {readBy}), not from the {memoryName} buffer the engine updates: " +
            $"ORT would copy it once at bind time and training would never see the updates ({wrong.Count} weight input(s) affected). " +
            "The node has no kernel on this device; export the model with ops the CUDA execution provider supports.");
    }

    /// <summary>The inputs among <paramref name="names"/> that ORT reads in host memory (each is then bound from host memory, which it reads at run time).</summary>
    public static HashSet<string> ReadOnHost(InferenceSession session, IEnumerable<string> names)
    {
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        return ExpectedMemory(session, Host).Where(p => wanted.Contains(p.Input) && p.Memory).Select(p => p.Input).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>What <paramref name="read"/> says of each input's expected memory (the infos live only as long as their collection).</summary>
    private static List<(string Input, T Memory)> ExpectedMemory<T>(InferenceSession session, Func<OrtMemoryInfo, T> read)
    {
        using var infos = session.GetMemoryInfosForInputs();
        return session.InputNames.Select((n, i) => (n, read(infos[i]))).ToList();
    }

    /// <summary>The nodes of the graph file that read each input, as "Op 'name'" (the graph ORT optimises from); null when it cannot be re-read.</summary>
    internal static Dictionary<string, List<string>>? Readers(string graphPath, IEnumerable<string> inputs)
    {
        try
        {
            using var file = OnnxModelFile.Load(graphPath);
            var index = new GraphIndex(file.Graph);
            return inputs.Distinct(StringComparer.Ordinal).ToDictionary(i => i,
                i => index.Consumers(i).Select(c => $"{c.Node.OpType} '{c.Node.Name}'").ToList(), StringComparer.Ordinal);
        }
        catch (OrtZoException)
        {
            return null;
        }
    }
}
