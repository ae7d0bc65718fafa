using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// The smallest causal LM: logits[b,t,:] = table[input_ids[b,t], :]. With a hand-chosen table the exact
/// log-probabilities are known, which makes it the probe for the scoring head alone.
/// </summary>
internal static class TableModel
{
    public static void Write(string path, float[] table, int vocab, DType dtype, int opset = 17)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "ortzo-tests", Graph = new GraphProto { Name = "table" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = opset });
        var g = new GraphBuilder(model.Graph, opset);
        int elementType = OnnxElementType.FromDType(dtype);
        var bytes = new byte[table.Length * dtype.SizeInBytes()];
        FloatConversions.FromFloat32(table, dtype, bytes);
        g.Initializer(TensorData.FromBytes("table.weight", elementType, [vocab, vocab], bytes));
        g.Input("input_ids", OnnxElementType.Int64, "batch", "sequence");
        g.Node("Gather", ["table.weight", "input_ids"], "logits");
        g.Output("logits", elementType, "batch", "sequence", (long)vocab);
        OnnxModelWriter.WriteInline(model, path);
    }

    /// <summary>The table's values as the model stores them (rounded to <paramref name="dtype"/>), as [B,T,V] logits for <paramref name="ids"/>.</summary>
    public static float[] Logits(float[] table, int vocab, DType dtype, long[] ids)
    {
        var stored = new byte[table.Length * dtype.SizeInBytes()];
        FloatConversions.FromFloat32(table, dtype, stored);
        var rounded = new float[table.Length];
        FloatConversions.ToFloat32(dtype, stored, rounded);
        var logits = new float[ids.Length * vocab];
        for (int i = 0; i < ids.Length; i++) Array.Copy(rounded, ids[i] * vocab, logits, i * vocab, vocab);
        return logits;
    }
}
