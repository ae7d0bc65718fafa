using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using OrtZo.Tasks;

namespace OrtZo.Tests.Session;

/// <summary>The session reads the engine's slab in place: edits show up in the next run with no rebinding.</summary>
public class BoundWeightsTests
{
    private static float[] Score(ZoModel model, int rows, int seq)
    {
        var session = model.Session(rows, seq);
        session.Run(rows, seq);
        return session.SumLogprob(rows).ToArray();
    }

    private static void FillBatch(ZoModel model, int rows, int seq)
    {
        var session = model.Session(rows, seq);
        var ids = session.InputIds(rows, seq);
        var mask = session.AttentionMask(rows, seq);
        var labels = session.LabelMask(rows, seq);
        var rnd = new Random(3);
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = rnd.Next(3, 500);
            mask[i] = 1;
            labels[i] = i % seq == 0 ? 0 : 1;
        }
    }

    [Test]
    public void InPlaceWeightEditsAreSeenWithoutRebinding()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        const int rows = 4, seq = 16;
        FillBatch(model, rows, seq);
        var before = Score(model, rows, seq);
        int slot = model.ReadWeights().Layout.IndexOf("model.layers.2.mlp.down_proj.weight");
        var original = model.ReadWeights().ReadFloat32(slot);
        var edited = original.Select(v => v * 1.5f).ToArray();
        model.ReadWeights().WriteFloat32(slot, edited);
        var after = Score(model, rows, seq);
        Assert.That(after, Is.Not.EqualTo(before), "editing a matrix in the slab must change the next forward");
        model.ReadWeights().WriteFloat32(slot, original);
        Assert.That(Score(model, rows, seq), Is.EqualTo(before), "restoring the bytes restores the scores exactly");
    }

    [Test]
    public void EveryWeightTensorReachesTheForward()
    {
        // A weight ORT copied at bind time, or never read, would leave the scores unchanged when edited.
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        const int rows = 2, seq = 16;
        FillBatch(model, rows, seq);
        var before = Score(model, rows, seq);
        foreach (var slot in model.ReadWeights().Layout.Slots)
        {
            var original = model.ReadWeights().ReadFloat32(slot.Index);
            model.ReadWeights().WriteFloat32(slot.Index, original.Select((v, i) => v + (i % 2 == 0 ? 0.05f : -0.05f)).ToArray());
            Assert.That(Score(model, rows, seq), Is.Not.EqualTo(before), $"{slot.Spec.Name} does not reach the forward");
            model.ReadWeights().WriteFloat32(slot.Index, original);
        }
    }

    [Test]
    public unsafe void WeightsGivenAsSessionInitializersGoStale()
    {
        // The trap the design avoids: ORT prepacks initializers it is handed, so later in-place edits are not seen.
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        const int rows = 2, seq = 16;
        FillBatch(model, rows, seq);
        // The same graph with the weights as initializers (as a plain export has them), each overridden by an
        // OrtValue over the slab through AddInitializer.
        var proto = OrtZo.Onnx.OnnxModelFile.Parse(File.ReadAllBytes(model.Folder.GraphPath), "graph");
        foreach (var s in model.ReadWeights().Layout.Slots)
        {
            var input = proto.Graph.Input.Single(i => i.Name == s.Spec.Name);
            proto.Graph.Input.Remove(input);
            var init = new OrtZo.Onnx.Proto.TensorProto { Name = s.Spec.Name, DataType = 1, RawData = Google.Protobuf.ByteString.CopyFrom(new byte[s.Spec.ByteLength]) };
            init.Dims.AddRange(s.Spec.Shape);
            proto.Graph.Initializer.Add(init);
        }
        string graphPath = Path.Combine(Path.GetTempPath(), $"ortzo-init-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(graphPath, Google.Protobuf.MessageExtensions.ToByteArray(proto));
        using var so = new SessionOptions();
        var values = model.ReadWeights().Layout.Slots.Select(s => OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
            s.Spec.Shape.ToArray(), (IntPtr)model.ReadWeights().Pointer(s.Index), s.Spec.ByteLength)).ToList();
        foreach (var (s, value) in model.ReadWeights().Layout.Slots.Zip(values)) so.AddInitializer(s.Spec.Name, value);
        using var session = new InferenceSession(graphPath, so);
        File.Delete(graphPath);
        var bound = model.Session(rows, seq);
        float RunInitializerSession()
        {
            using var ids = OrtValue.CreateTensorValueFromMemory(bound.InputIds(rows, seq).ToArray(), [rows, seq]);
            using var mask = OrtValue.CreateTensorValueFromMemory(bound.AttentionMask(rows, seq).ToArray(), [rows, seq]);
            using var labels = OrtValue.CreateTensorValueFromMemory(bound.LabelMask(rows, seq).ToArray(), [rows, seq]);
            using var outputs = session.Run(new RunOptions(), ["input_ids", "attention_mask", "label_mask"], [ids, mask, labels], ["sum_logprob"]);
            return outputs[0].GetTensorDataAsSpan<float>()[0];
        }
        float before = RunInitializerSession();
        int slot = model.ReadWeights().Layout.IndexOf("model.layers.2.mlp.down_proj.weight");
        var original = model.ReadWeights().ReadFloat32(slot);
        model.ReadWeights().WriteFloat32(slot, original.Select(v => v * 1.5f).ToArray());
        float after = RunInitializerSession();
        float boundAfter = Score(model, rows, seq)[0];
        model.ReadWeights().WriteFloat32(slot, original);
        foreach (var v in values) v.Dispose();
        Assert.That(after, Is.EqualTo(before), "the initializer session did not see the edit (prepacked copy)");
        Assert.That(boundAfter, Is.Not.EqualTo(before), "the bound-input session did");
    }

    [Test]
    public void SteadyShapeRunsAllocateNothing()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        const int rows = 8, seq = 24;
        FillBatch(model, rows, seq);
        var session = model.Session(rows, seq);
        session.Run(rows, seq);
        session.Run(rows, seq);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) session.Run(rows, seq);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Out.WriteLine($"{allocated} bytes allocated by 20 runs");
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void EvaluationMatchesScoresComputedFromTheLogits()
    {
        // The scoring head against log-probabilities computed in double from the graph's own logits output.
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var data = TaskData.FromExamples([
            ("Once upon a time, there was a little", ["girl", "dog", "tree"], 0),
            ("Lily and Ben went to the park. They", ["played", "ate soup"], 0),
        ]);
        var result = model.Evaluate(data);
        var encoded = model.Encode(data);
        using var session = new InferenceSession(model.Folder.GraphPath);
        for (int e = 0; e < encoded.Length; e++)
            for (int c = 0; c < encoded[e].CandidateCount; c++)
            {
                int[] tokens = encoded[e].Rows[c];
                int t = tokens.Length;
                var feeds = new Dictionary<string, OrtValue>
                {
                    ["input_ids"] = OrtValue.CreateTensorValueFromMemory(tokens.Select(x => (long)x).ToArray(), [1, t]),
                    ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, t).ToArray(), [1, t]),
                    ["label_mask"] = OrtValue.CreateTensorValueFromMemory(new float[t], [1, t]),
                };
                foreach (var slot in model.ReadWeights().Layout.Slots)
                    feeds[slot.Spec.Name] = OrtValue.CreateTensorValueFromMemory(model.ReadWeights().ReadFloat32(slot.Index), slot.Spec.Shape.ToArray());
                using var outputs = session.Run(new RunOptions(), feeds, ["logits"]);
                var logits = outputs[0].GetTensorDataAsSpan<float>();
                int vocab = logits.Length / t;
                var (start, count) = encoded[e].ScoredSpan(c);
                double sum = 0;
                for (int pos = start; pos < start + count; pos++)
                {
                    var row = logits.Slice((pos - 1) * vocab, vocab);
                    double max = double.NegativeInfinity;
                    foreach (float x in row) max = Math.Max(max, x);
                    double lse = 0;
                    foreach (float x in row) lse += Math.Exp(x - max);
                    sum += row[tokens[pos]] - (max + Math.Log(lse));
                }
                foreach (var v in feeds.Values) v.Dispose();
                Assert.That(result.Predictions[e].Candidates[c].Sum, Is.EqualTo(sum).Within(1e-4), $"example {e} candidate {c}");
                Assert.That(result.Predictions[e].Candidates[c].Tokens, Is.EqualTo(count));
            }
        Assert.That(result.Predictions[0].Prediction, Is.EqualTo(0), "the pretrained story model prefers 'girl' after 'a little'");
    }
}
