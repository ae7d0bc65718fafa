using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.Runtime;
using OrtZo.Session;
using OrtZo.WeightStore;

using OrtZo.Onnx.Peft;

namespace OrtZo.Peft;

/// <summary>A captured intermediate value: its runtime shape and its elements as float32.</summary>
internal sealed record ProbeTensor(long[] Shape, float[] Values);

/// <summary>
/// Runs a model folder's graph once on one row of token ids and returns chosen intermediate values. Each value is
/// exposed as an extra graph output (through a Cast to float, so its element type need not be known) in a copy of
/// the graph; the weights are bound straight from the memory-mapped weights file, so nothing is copied. Prefix
/// tuning uses it to learn each attention's head counts and, for MeZO's real-activation init, its keys and values.
/// </summary>
internal static unsafe class ActivationProbe
{
    public static Dictionary<string, ProbeTensor> Run(ModelFolder folder, long[] ids, IReadOnlyList<string> values, int threads)
    {
        var manifest = folder.Manifest;
        var model = OnnxModelFile.Parse(File.ReadAllBytes(folder.GraphPath), folder.GraphPath);
        var g = new GraphBuilder(model.Graph, ModelOpset.Default(model), "ortzo_probe/");
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values.Distinct())
        {
            string output = g.Node("Cast", [value], null, GraphBuilder.Int("to", OnnxElementType.Float));
            model.Graph.Output.Add(new ValueInfoProto
            {
                Name = output,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxElementType.Float } },
            });
            outputs[value] = output;
        }

        using var weights = SafetensorsFile.Open(folder.WeightsPath);
        using var so = ExecutionProviders.CreateSessionOptions(ZoDevice.Cpu, threads);
        using var session = new InferenceSession(model.ToByteArray(), so);
        var names = new List<string>();
        var inputs = new List<OrtValue>();
        try
        {
            foreach (var w in manifest.WeightInputs)
            {
                var entry = weights.Get(w.Name);
                if (entry.Spec.DType.ToShortName() != w.Dtype || !entry.Spec.Shape.SequenceEqual(w.Shape))
                    throw ModelErrors.Fail(ModelFolderError.WeightMismatch, folder.WeightsPath, w.Name,
                        $"{entry.Spec.DType.ToShortName()} {entry.Spec.ShapeText} in the file, ortzo.json says {w.Dtype} [{string.Join(", ", w.Shape)}]");
                names.Add(w.Name);
                inputs.Add(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ScoringSession.ElementType(entry.Spec.DType),
                    entry.Spec.Shape.ToArray(), (IntPtr)weights.GetPointer(entry), entry.Spec.ByteLength));
            }
            long[] shape = [1, ids.Length];
            names.Add(manifest.Inputs.InputIds);
            inputs.Add(OrtValue.CreateTensorValueFromMemory((long[])ids.Clone(), shape));
            if (manifest.Inputs.AttentionMask is { } mask)
            {
                names.Add(mask);
                inputs.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, ids.Length).ToArray(), shape));
            }
            if (manifest.Inputs.PositionIds is { } positions)
            {
                names.Add(positions);
                inputs.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray(), shape));
            }
            names.Add(manifest.Inputs.LabelMask);
            inputs.Add(OrtValue.CreateTensorValueFromMemory(new float[ids.Length], shape));

            using var runOptions = new RunOptions();
            var outputNames = outputs.Values.ToList();
            using var results = session.Run(runOptions, names, inputs, outputNames);
            var captured = new Dictionary<string, ProbeTensor>(StringComparer.Ordinal);
            int i = 0;
            foreach (var (value, _) in outputs)
            {
                var result = results[i++];
                captured[value] = new ProbeTensor(result.GetTensorTypeAndShape().Shape, result.GetTensorDataAsSpan<float>().ToArray());
            }
            return captured;
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }
}
