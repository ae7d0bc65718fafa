using Microsoft.ML.OnnxRuntime;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// The oracle for the scoring head: run the ORIGINAL model (weights as initializers) through ORT for its
/// logits, then compute Σ_t mask[t]·log softmax(logits[t−1])[ids[t]] in double.
/// </summary>
internal static class ReferenceScoring
{
    /// <summary>Logits [B,T,V] of the source model. Past inputs, if the graph has any, are fed as empty [.., 0, ..] tensors.</summary>
    public static float[] Logits(string modelPath, long[] ids, int batch, int seq, long[]? attentionMask)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, options);
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            foreach (var (name, meta) in session.InputMetadata)
            {
                names.Add(name);
                if (name == "input_ids") values.Add(OrtValue.CreateTensorValueFromMemory(ids, [batch, seq]));
                else if (name == "attention_mask")
                    values.Add(OrtValue.CreateTensorValueFromMemory(attentionMask ?? Enumerable.Repeat(1L, batch * seq).ToArray(), [batch, seq]));
                else if (name == "position_ids")
                    values.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, batch * seq).Select(i => (long)(i % seq)).ToArray(), [batch, seq]));
                else if (name.StartsWith("past", StringComparison.Ordinal))
                {
                    var dims = meta.Dimensions.Select(d => (long)d).ToArray();
                    dims[0] = batch;
                    dims[^2] = 0;
                    values.Add(OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), dims));
                }
                else throw new InvalidOperationException($"test oracle does not know how to feed '{name}'");
            }
            using var run = new RunOptions();
            using var results = session.Run(run, names, values, ["logits"]);
            return results.First().GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>Per-row (sum, mean) of log-probabilities of the tokens where labelMask is 1, from position t−1's logits.</summary>
    public static (double[] Sum, double[] Mean) Scores(float[] logits, long[] ids, float[] labelMask, int batch, int seq, int vocab)
    {
        var sum = new double[batch];
        var mean = new double[batch];
        for (int b = 0; b < batch; b++)
        {
            double count = 0;
            for (int t = 1; t < seq; t++)
            {
                double w = labelMask[b * seq + t];
                if (w == 0) continue;
                sum[b] += w * TokenLogprob(logits, b, t - 1, seq, vocab, ids[b * seq + t]);
                count += w;
            }
            mean[b] = sum[b] / Math.Max(count, 1);
        }
        return (sum, mean);
    }

    public static double TokenLogprob(float[] logits, int b, int position, int seq, int vocab, long token)
    {
        int row = (b * seq + position) * vocab;
        double max = double.NegativeInfinity;
        for (int v = 0; v < vocab; v++) max = Math.Max(max, logits[row + v]);
        double total = 0;
        for (int v = 0; v < vocab; v++) total += Math.Exp(logits[row + v] - max);
        return logits[row + token] - max - Math.Log(total);
    }
}
