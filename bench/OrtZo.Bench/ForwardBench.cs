using System.Diagnostics;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.Runtime;

namespace OrtZo.Bench;

/// <summary>Forward latency and tokens/s with the weights bound as graph inputs (OrtZo) or as ordinary initializers.</summary>
internal static class ForwardBench
{
    public static JsonObject Measure(Options o)
    {
        using var model = ZoModel.Open(o.Model, o.Device);
        int rows = o.Batch, seq = Math.Min(o.Seq, model.MaxLength);
        var batch = new RandomBatch(model, rows, seq, model.Folder.Manifest.VocabSize);
        double ms = o.Binding == "inputs" ? Time(batch.Forward) : InitializerForward(model, batch, rows, seq);
        return new JsonObject
        {
            ["model"] = Path.GetFileName(o.Model),
            ["device"] = o.Device.ToString(),
            ["params"] = model.ParameterCount,
            ["binding"] = o.Binding,
            ["batch"] = rows,
            ["seq"] = seq,
            ["forward_ms"] = ms,
            ["tokens_per_s"] = rows * seq / (ms / 1000),
            ["peak_rss_mb"] = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
        };
    }

    internal static double Time(Action action, int minRuns = 5, double minSeconds = 2)
    {
        action();
        action();
        var sw = Stopwatch.StartNew();
        int n = 0;
        while (n < minRuns || sw.Elapsed.TotalSeconds < minSeconds)
        {
            action();
            n++;
        }
        return sw.Elapsed.TotalMilliseconds / n;
    }

    // The model as a plain export has it: weights are initializers holding their data, so ORT may prepack them.
    private static unsafe double InitializerForward(ZoModel model, RandomBatch batch, int rows, int seq)
    {
        var proto = OnnxModelFile.Parse(File.ReadAllBytes(model.Folder.GraphPath), "graph");
        var weights = model.ReadWeights();
        foreach (var s in weights.Layout.Slots)
        {
            proto.Graph.Input.Remove(proto.Graph.Input.Single(i => i.Name == s.Spec.Name));
            var t = new TensorProto { Name = s.Spec.Name, DataType = s.DType == WeightStore.DType.F32 ? 1 : s.DType == WeightStore.DType.F16 ? 10 : 16 };
            t.Dims.AddRange(s.Spec.Shape);
            t.RawData = ByteString.CopyFrom(weights.Bytes(s.Index));
            proto.Graph.Initializer.Add(t);
        }
        using var so = ExecutionProviders.CreateSessionOptions(ZoDevice.Cpu, model.Threads);
        using var session = new InferenceSession(proto.ToByteArray(), so);
        var scoring = model.Session(rows, seq);
        long[] shape = [rows, seq];
        using var ids = OrtValue.CreateTensorValueFromMemory(scoring.InputIds(rows, seq).ToArray(), shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(scoring.AttentionMask(rows, seq).ToArray(), shape);
        using var labels = OrtValue.CreateTensorValueFromMemory(scoring.LabelMask(rows, seq).ToArray(), shape);
        using var binding = session.CreateIoBinding();
        binding.BindInput("input_ids", ids);
        if (model.Folder.Manifest.Inputs.AttentionMask is { } am) binding.BindInput(am, mask);
        binding.BindInput("label_mask", labels);
        using var sum = OrtValue.CreateTensorValueFromMemory(new float[rows], [rows]);
        binding.BindOutput("sum_logprob", sum);
        using var run = new RunOptions();
        return Time(() => session.RunWithBinding(run, binding));
    }
}
