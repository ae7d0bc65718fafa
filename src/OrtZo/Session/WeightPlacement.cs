using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;

namespace OrtZo.Session;

/// <summary>
/// Proves, when a session is created, that ORT reads every weight input from the memory the engine edits. A weight
/// bound from device memory but consumed by a node ORT placed on another device (a CPU fallback) would be copied
/// once at bind time and then silently never change: training would run on frozen weights. ORT reports, per input,
/// the memory it expects the input in (GetMemoryInfosForInputs); a weight whose expected memory is not the
/// backend's is an error naming the input and the nodes that read it.
/// </summary>
internal static class WeightPlacement
{
    /// <param name="expected">The OrtMemoryInfo name of the weights' memory ("Cuda").</param>
    public static void Verify(InferenceSession session, IReadOnlyCollection<string> weightNames, string expected, string graphPath)
    {
        using var infos = session.GetMemoryInfosForInputs();
        var names = session.InputNames;
        var wrong = new List<(string Input, string Memory)>();
        for (int i = 0; i < names.Count; i++)
            if (weightNames.Contains(names[i]) && !string.Equals(infos[i].Name, expected, StringComparison.OrdinalIgnoreCase))
                wrong.Add((names[i], infos[i].Name));
        if (wrong.Count == 0) return;
        var (input, memory) = wrong[0];
        string readers = Readers(graphPath, input);
        throw OptionErrors.Device(DeviceError.CpuFallback,
            $"{graphPath}: weight input '{input}' is read in {memory} memory (by {readers}), not from the {expected} buffer the engine updates: " +
            $"ORT would copy it once at bind time and training would never see the updates ({wrong.Count} weight input(s) affected). " +
            "The node has no kernel on this device; export the model with ops the CUDA execution provider supports.");
    }

    /// <summary>The nodes of the graph file that read <paramref name="input"/>, as "Op 'name'" (the graph ORT optimises from).</summary>
    internal static string Readers(string graphPath, string input)
    {
        try
        {
            using var file = OnnxModelFile.Load(graphPath);
            var consumers = new GraphIndex(file.Graph).Consumers(input);
            return consumers.Count == 0 ? "no node of the saved graph (an optimised node)"
                : string.Join(", ", consumers.Select(c => $"{c.Node.OpType} '{c.Node.Name}'"));
        }
        catch (OrtZoException)
        {
            return "nodes of a graph that could not be re-read";
        }
    }
}
