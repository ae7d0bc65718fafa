using System.Buffers.Binary;
using System.Text.RegularExpressions;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Model;

/// <summary>
/// Decides which constant tensors of an exported graph are trainable weights (they become graph inputs) and
/// which stay initializers. A float, fp16 or bf16 tensor becomes an input unless one of these holds, checked
/// in this order:
/// <list type="number">
/// <item>its name matches an <see cref="ImportOptions.KeepAsInitializer"/> pattern;</item>
/// <item>it has one element (scalars and all-ones shapes: epsilons, scales, GELU constants);</item>
/// <item>its name marks a rotary cache (cos/sin[_cached], inv_freq, rotary*, rope*, freqs_cis) or a mask (*mask*, masked_bias);</item>
/// <item>a quantized op reads it (<see cref="QuantizedOperands"/>: scales, zero points, MatMulNBits' bias, QuantizeLinear's float input);</item>
/// <item>only Shape/Size read it;</item>
/// <item>its values are a causal mask, a rotary cos/sin table or an inverse-frequency vector (<see cref="ConstantPatterns"/>).</item>
/// </list>
/// Integer, bool and double tensors always stay (indices, shapes, and types the engine does not train).
/// The same rules apply to the tensor of a Constant node, whose output name then becomes the input's name.
/// Tensors inside subgraphs (If/Loop/Scan bodies) are never moved; float ones are reported as frozen.
/// </summary>
internal static partial class WeightPromotion
{
    internal sealed record Decision(TensorProto Tensor, string Name, bool Promote, string Reason, NodeProto? ConstantNode, int Order);

    [GeneratedRegex(@"(^|[._/:])(rotary[^./:]*|rope[^./:]*|inv_freq|freqs_cis|(cos|sin)(_cached|_cache)?)([._/:]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex RotaryName();

    [GeneratedRegex(@"(^|[._/:])([a-z_]*mask[a-z_]*|masked_bias)([._/:]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex MaskName();

    private static readonly HashSet<string> ShapeOnlyOps = new(StringComparer.Ordinal) { "Shape", "Size" };

    public static IReadOnlyList<Decision> Decide(OnnxModelFile source, GraphIndex index, ImportOptions options)
    {
        var graph = index.Graph;
        var keepPatterns = options.KeepAsInitializer.Select(p => new Regex(p, RegexOptions.CultureInvariant)).ToList();
        var decisions = new List<Decision>();
        int order = 0;
        foreach (var tensor in graph.Initializer)
            decisions.Add(Decide(source, index, tensor, tensor.Name, null, order++, keepPatterns));
        foreach (var node in graph.Node)
        {
            if (node.OpType != "Constant" || !string.IsNullOrEmpty(node.Domain) && node.Domain != "ai.onnx") continue;
            var value = node.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
            if (value is null || node.Output.Count != 1) continue;
            decisions.Add(Decide(source, index, value, node.Output[0], node, order++, keepPatterns));
        }
        return decisions;
    }

    /// <summary>Float tensors inside subgraphs: the importer leaves them frozen and says so.</summary>
    public static IEnumerable<string> FrozenSubgraphWeights(GraphProto graph)
    {
        foreach (var node in graph.Node)
        {
            foreach (var attribute in node.Attribute)
            {
                foreach (var sub in attribute.G is null ? attribute.Graphs : attribute.Graphs.Prepend(attribute.G))
                {
                    foreach (var t in OnnxModelWriter.AllTensors(sub))
                        if (OnnxElementType.IsTrainableFloat(t.DataType) && t.Dims.Aggregate(1L, (a, b) => a * b) > 1)
                            yield return $"tensor '{t.Name}' inside subgraph '{attribute.Name}' of node '{node.Name}' ({node.OpType})";
                }
            }
        }
        foreach (var sparse in graph.SparseInitializer)
            yield return $"sparse initializer '{sparse.Values?.Name}'";
    }

    private static Decision Decide(OnnxModelFile source, GraphIndex index, TensorProto tensor, string name, NodeProto? constantNode,
        int order, List<Regex> keepPatterns)
    {
        Decision Keep(string reason) => new(tensor, name, false, reason, constantNode, order);
        if (keepPatterns.Any(p => p.IsMatch(name))) return Keep("matches a keep-as-initializer pattern");
        if (!OnnxElementType.IsTrainableFloat(tensor.DataType)) return Keep($"{OnnxElementType.Name(tensor.DataType)} constant");
        long count = TensorData.ElementCount(tensor, source.FilePath);
        if (count <= 1) return Keep("scalar or all-ones shape");
        if (RotaryName().IsMatch(name)) return Keep("rotary cache (by name)");
        if (MaskName().IsMatch(name)) return Keep("mask (by name)");
        var consumers = index.Consumers(name);
        if (consumers.Count == 0) return Keep("unused");
        if (QuantizedOperands.Reader(index, name) is { } quantized) return Keep($"operand of quantized op {quantized.OpType} '{quantized.Name}'");
        if (consumers.All(c => ShapeOnlyOps.Contains(c.Node.OpType))) return Keep("read only by shape ops");
        string? pattern = RecognisedConstant(source, tensor, count);
        if (pattern is not null) return Keep(pattern);
        return new Decision(tensor, name, true, "trainable", constantNode, order);
    }

    /// <summary>Names the structure the values have, or null; reads past the first element only when that element could start one.</summary>
    private static string? RecognisedConstant(OnnxModelFile source, TensorProto tensor, long count)
    {
        if (count > 1L << 26) return null; // weights this large are never masks or caches worth checking
        var bytes = source.Span(tensor);
        float first = Decode(tensor.DataType, bytes, 0);
        bool couldBeMask = first == 0f || first == 1f || first <= -1e4f;
        if (!couldBeMask) return null;
        var shape = tensor.Dims.ToArray();
        var values = new float[count];
        if (tensor.DataType == OnnxElementType.Float) System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
        else FloatConversions.ToFloat32(tensor.DataType == OnnxElementType.Float16 ? DType.F16 : DType.BF16, bytes, values);
        if (ConstantPatterns.LooksLikeCausalMask(shape, values)) return "causal mask (by value)";
        if (ConstantPatterns.LooksLikeRotaryTable(shape, values)) return "rotary cos/sin table (by value)";
        if (ConstantPatterns.LooksLikeInverseFrequencies(shape, values)) return "rotary inverse frequencies (by value)";
        return null;
    }

    private static float Decode(int elementType, ReadOnlySpan<byte> bytes, int index) => elementType switch
    {
        OnnxElementType.Float => BinaryPrimitives.ReadSingleLittleEndian(bytes[(index * 4)..]),
        OnnxElementType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(index * 2)..]),
        _ => FloatConversions.Bf16ToFloat32(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(index * 2)..])),
    };
}
