using OrtZo.Tools;
using OrtZo.Onnx;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Peft;

/// <summary>
/// A scalar Llama forward (llama2.c's run.c loop: one position at a time, a KV cache) whose caches start with P
/// prefix rows per layer, as ZO-Bench injects them through past_key_value: the rows are used as they are (keys
/// already rotated), every position attends to all of them, and real tokens keep positions 0, 1, …. It shares
/// nothing with the graph rewrite, so it is the oracle for prefix tuning on the shipped model.
/// </summary>
internal static class PrefixLlamaReference
{
    /// <summary>The checkpoint arrays, read from an OrtZo folder of a llama2.c conversion (Hugging Face names).</summary>
    public static Llama2cCheckpoint FromFolder(string folder, int heads, int kvHeads)
    {
        using var file = SafetensorsFile.Open(Path.Combine(folder, "weights.safetensors"));
        float[] W(string name) => file.ReadAsFloat32(name);
        int layers = file.Tensors.Count(t => t.Spec.Name.EndsWith(".input_layernorm.weight", StringComparison.Ordinal));
        float[][] PerLayer(string suffix) => Enumerable.Range(0, layers).Select(l => W($"model.layers.{l}.{suffix}")).ToArray();
        var embedding = file.Get("model.embed_tokens.weight").Spec;
        return new Llama2cCheckpoint
        {
            Dim = (int)embedding.Shape[1],
            HiddenDim = (int)file.Get("model.layers.0.mlp.gate_proj.weight").Spec.Shape[0],
            Layers = layers,
            Heads = heads,
            KvHeads = kvHeads,
            VocabSize = (int)embedding.Shape[0],
            SeqLen = 512,
            SharedClassifier = true,
            TokenEmbedding = W("model.embed_tokens.weight"),
            AttentionNorm = PerLayer("input_layernorm.weight"),
            Wq = PerLayer("self_attn.q_proj.weight"),
            Wk = PerLayer("self_attn.k_proj.weight"),
            Wv = PerLayer("self_attn.v_proj.weight"),
            Wo = PerLayer("self_attn.o_proj.weight"),
            FfnNorm = PerLayer("post_attention_layernorm.weight"),
            W1 = PerLayer("mlp.gate_proj.weight"),
            W2 = PerLayer("mlp.down_proj.weight"),
            W3 = PerLayer("mlp.up_proj.weight"),
            FinalNorm = W("model.norm.weight"),
        };
    }

    /// <summary>Logits [T, V]; <paramref name="prefixKeys"/>[l] and <paramref name="prefixValues"/>[l] are [P, kv_dim].</summary>
    public static float[] Forward(Llama2cCheckpoint c, IReadOnlyList<long> tokens, float[][] prefixKeys, float[][] prefixValues, int prefix)
    {
        int dim = c.Dim, kvDim = c.KvDim, hs = c.HeadSize, group = c.Heads / c.KvHeads, hidden = c.HiddenDim;
        int steps = tokens.Count, span = prefix + steps;
        var keys = new float[c.Layers][];
        var values = new float[c.Layers][];
        for (int l = 0; l < c.Layers; l++)
        {
            keys[l] = new float[span * kvDim];
            values[l] = new float[span * kvDim];
            Array.Copy(prefixKeys[l], keys[l], prefix * kvDim);
            Array.Copy(prefixValues[l], values[l], prefix * kvDim);
        }
        var logits = new float[steps * c.VocabSize];
        var x = new float[dim];
        var normed = new float[dim];
        var q = new float[dim];
        var k = new float[kvDim];
        var v = new float[kvDim];
        var context = new float[dim];
        var weights = new float[span];
        var gate = new float[hidden];
        var up = new float[hidden];
        var delta = new float[dim];
        for (int pos = 0; pos < steps; pos++)
        {
            Array.Copy(c.TokenEmbedding, tokens[pos] * dim, x, 0, dim);
            for (int l = 0; l < c.Layers; l++)
            {
                Rms(normed, x, c.AttentionNorm[l]);
                Project(q, normed, c.Wq[l]);
                Project(k, normed, c.Wk[l]);
                Project(v, normed, c.Wv[l]);
                Rotate(q, pos, hs);
                Rotate(k, pos, hs);
                int row = prefix + pos;
                Array.Copy(k, 0, keys[l], row * kvDim, kvDim);
                Array.Copy(v, 0, values[l], row * kvDim, kvDim);
                for (int h = 0; h < c.Heads; h++)
                {
                    int kv = h / group;
                    int visible = row + 1;   // the whole prefix, then positions 0..pos
                    for (int j = 0; j < visible; j++)
                    {
                        float dot = 0f;
                        for (int i = 0; i < hs; i++) dot += q[h * hs + i] * keys[l][j * kvDim + kv * hs + i];
                        weights[j] = dot / MathF.Sqrt(hs);
                    }
                    Softmax(weights, visible);
                    for (int i = 0; i < hs; i++)
                    {
                        float sum = 0f;
                        for (int j = 0; j < visible; j++) sum += weights[j] * values[l][j * kvDim + kv * hs + i];
                        context[h * hs + i] = sum;
                    }
                }
                Project(delta, context, c.Wo[l]);
                for (int i = 0; i < dim; i++) x[i] += delta[i];
                Rms(normed, x, c.FfnNorm[l]);
                Project(gate, normed, c.W1[l]);
                Project(up, normed, c.W3[l]);
                for (int i = 0; i < hidden; i++) gate[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
                Project(delta, gate, c.W2[l]);
                for (int i = 0; i < dim; i++) x[i] += delta[i];
            }
            Rms(normed, x, c.FinalNorm);
            var row2 = new float[c.VocabSize];
            Project(row2, normed, c.TokenEmbedding);
            Array.Copy(row2, 0, logits, pos * c.VocabSize, c.VocabSize);
        }
        return logits;
    }

    /// <summary>log p(tokens[t] | tokens[..t]) summed over t ≥ 1, in double.</summary>
    public static double SumLogprob(float[] logits, IReadOnlyList<long> tokens, int vocab)
    {
        double total = 0;
        for (int t = 1; t < tokens.Count; t++)
        {
            var row = logits.AsSpan((t - 1) * vocab, vocab);
            double max = double.NegativeInfinity;
            foreach (float z in row) max = Math.Max(max, z);
            double sum = 0;
            foreach (float z in row) sum += Math.Exp(z - max);
            total += row[(int)tokens[t]] - max - Math.Log(sum);
        }
        return total;
    }

    // Interleaved pairs (2i, 2i+1) of each head turned by pos · 10000^(−2i/hs), as llama2.c does.
    private static void Rotate(float[] vector, int pos, int headSize)
    {
        for (int i = 0; i < vector.Length; i += 2)
        {
            float angle = pos / MathF.Pow(10000f, i % headSize / (float)headSize);
            float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
            float a = vector[i], b = vector[i + 1];
            vector[i] = a * cos - b * sin;
            vector[i + 1] = a * sin + b * cos;
        }
    }

    private static void Rms(float[] output, float[] x, float[] weight)
    {
        float squares = 0f;
        foreach (float value in x) squares += value * value;
        float scale = 1f / MathF.Sqrt(squares / x.Length + 1e-5f);
        for (int i = 0; i < x.Length; i++) output[i] = weight[i] * (scale * x[i]);
    }

    /// <summary>output = W · x for W [output.Length, x.Length] row-major.</summary>
    private static void Project(float[] output, float[] x, float[] w)
    {
        for (int o = 0; o < output.Length; o++)
        {
            float sum = 0f;
            for (int i = 0; i < x.Length; i++) sum += w[o * x.Length + i] * x[i];
            output[o] = sum;
        }
    }

    private static void Softmax(float[] x, int size)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < size; i++) max = MathF.Max(max, x[i]);
        float sum = 0f;
        for (int i = 0; i < size; i++) sum += x[i] = MathF.Exp(x[i] - max);
        for (int i = 0; i < size; i++) x[i] /= sum;
    }
}
