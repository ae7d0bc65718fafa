using System.Globalization;
using Google.Protobuf;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx;

/// <summary>
/// Writes ModelProtos atomically (temporary file, fsync, rename): either with every tensor inline, or with
/// large tensors moved to one external data file beside the model, each at an offset aligned to 4096 bytes so
/// readers can map them page-aligned.
/// </summary>
internal static class OnnxModelWriter
{
    public const int ExternalDataAlignment = 4096;

    /// <summary>Tensors smaller than this stay inline even in external-data mode (shape constants and scalars).</summary>
    public const long DefaultExternalThreshold = 1024;

    /// <summary>
    /// Writes <paramref name="model"/> as one self-contained file. Tensors that are external in the source are
    /// read through <paramref name="source"/> and written inline.
    /// </summary>
    public static void WriteInline(ModelProto model, string path, OnnxModelFile? source = null)
    {
        var copy = model;
        if (AllTensors(model.Graph).Any(TensorData.IsExternal))
        {
            if (source is null)
                throw OnnxErrors.Fail(OnnxError.InvalidExternalData, path, null,
                    "the model has external tensors but no source file to read them from");
            copy = model.Clone();
            foreach (var tensor in AllTensors(copy.Graph).Where(TensorData.IsExternal).ToList())
            {
                tensor.RawData = ByteString.CopyFrom(source.ReadBytes(tensor));
                tensor.ExternalData.Clear();
                tensor.ClearDataLocation();
            }
        }
        long size = copy.CalculateSize();
        if (size >= int.MaxValue)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, null,
                $"the model would be {size} bytes inline, over protobuf's 2 GiB limit; write it with external data");
        AtomicFile.Write(path, stream => copy.WriteTo(stream));
    }

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> with every initializer of at least
    /// <paramref name="threshold"/> bytes stored in <paramref name="dataFileName"/> (relative to the model's
    /// directory). Data already external in <paramref name="source"/> is copied across without loading it whole.
    /// The data file is written first, so a crash never leaves a model that points at missing data.
    /// </summary>
    public static void WriteWithExternalData(ModelProto model, string path, string dataFileName,
        OnnxModelFile? source = null, long threshold = DefaultExternalThreshold)
    {
        if (Path.IsPathRooted(dataFileName) || dataFileName.Contains(".."))
            throw new ArgumentException($"data file name '{dataFileName}' must be relative to the model's directory", nameof(dataFileName));
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var copy = model.Clone();
        var moved = new List<(TensorProto Original, TensorProto Rewritten)>();
        // Only top-level initializers move: ORT resolves external data for those, not for tensors held by node attributes.
        var originals = model.Graph.Initializer.ToList();
        var rewritten = copy.Graph.Initializer.ToList();
        for (int i = 0; i < originals.Count; i++)
        {
            if (TensorData.ExpectedByteLength(originals[i], path) >= threshold)
                moved.Add((originals[i], rewritten[i]));
        }

        AtomicFile.Write(Path.Combine(directory, dataFileName), stream =>
        {
            foreach (var (original, target) in moved)
            {
                long padding = (ExternalDataAlignment - stream.Position % ExternalDataAlignment) % ExternalDataAlignment;
                if (padding > 0) stream.Write(new byte[padding]);
                long offset = stream.Position;
                TensorData.CopyTo(original, source?.ExternalData, source?.FilePath ?? path, stream);
                long length = stream.Position - offset;
                MakeExternal(target, dataFileName, offset, length);
            }
        });
        AtomicFile.Write(path, stream => copy.WriteTo(stream));
    }

    private static void MakeExternal(TensorProto tensor, string location, long offset, long length)
    {
        tensor.ClearRawData();
        tensor.FloatData.Clear();
        tensor.Int32Data.Clear();
        tensor.Int64Data.Clear();
        tensor.DoubleData.Clear();
        tensor.Uint64Data.Clear();
        tensor.ExternalData.Clear();
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>Initializers of the graph and of every subgraph, plus tensors held by Constant-like attributes, in a fixed order.</summary>
    public static IEnumerable<TensorProto> AllTensors(GraphProto graph)
    {
        foreach (var tensor in graph.Initializer) yield return tensor;
        foreach (var node in graph.Node)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is not null) yield return attribute.T;
                foreach (var t in attribute.Tensors) yield return t;
                if (attribute.G is not null)
                    foreach (var t in AllTensors(attribute.G)) yield return t;
                foreach (var g in attribute.Graphs)
                    foreach (var t in AllTensors(g)) yield return t;
            }
        }
    }
}
