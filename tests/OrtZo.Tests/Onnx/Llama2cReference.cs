using OrtZo.Tools;
using System.Text;
using OrtZo.Onnx;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// llama2.c's forward (run.c), transcribed as plain scalar loops: one token at a time with a KV cache, no
/// batching, no SIMD. It is the oracle for the converted ONNX graph, so it shares nothing with the converter
/// except the checkpoint reader.
/// </summary>
internal sealed class Llama2cReference
{
    private readonly Llama2cCheckpoint _c;

    public Llama2cReference(Llama2cCheckpoint checkpoint) => _c = checkpoint;

    /// <summary>Logits [T, V] for every position of <paramref name="tokens"/>.</summary>
    public float[] Forward(IReadOnlyList<int> tokens)
    {
        var c = _c;
        int dim = c.Dim, kvDim = c.KvDim, headSize = c.HeadSize, kvMul = c.Heads / c.KvHeads, hidden = c.HiddenDim;
        int steps = tokens.Count;
        var keyCache = new float[c.Layers, steps, kvDim];
        var valueCache = new float[c.Layers, steps, kvDim];
        var logits = new float[steps * c.VocabSize];
        var x = new float[dim];
        var xb = new float[dim];
        var q = new float[dim];
        var k = new float[kvDim];
        var v = new float[kvDim];
        var att = new float[steps];
        var hb = new float[hidden];
        var hb2 = new float[hidden];
        for (int pos = 0; pos < steps; pos++)
        {
            Array.Copy(c.TokenEmbedding, tokens[pos] * dim, x, 0, dim);
            for (int l = 0; l < c.Layers; l++)
            {
                RmsNorm(xb, x, c.AttentionNorm[l]);
                MatVec(q, xb, c.Wq[l], dim, dim);
                MatVec(k, xb, c.Wk[l], dim, kvDim);
                MatVec(v, xb, c.Wv[l], dim, kvDim);
                for (int i = 0; i < dim; i += 2)
                {
                    int headDim = i % headSize;
                    float frequency = 1.0f / MathF.Pow(10000.0f, headDim / (float)headSize);
                    float angle = pos * frequency;
                    float fcr = MathF.Cos(angle), fci = MathF.Sin(angle);
                    int rotations = i < kvDim ? 2 : 1;
                    for (int r = 0; r < rotations; r++)
                    {
                        float[] vec = r == 0 ? q : k;
                        float v0 = vec[i], v1 = vec[i + 1];
                        vec[i] = v0 * fcr - v1 * fci;
                        vec[i + 1] = v0 * fci + v1 * fcr;
                    }
                }
                for (int i = 0; i < kvDim; i++)
                {
                    keyCache[l, pos, i] = k[i];
                    valueCache[l, pos, i] = v[i];
                }
                for (int h = 0; h < c.Heads; h++)
                {
                    int kvHead = h / kvMul;
                    for (int t = 0; t <= pos; t++)
                    {
                        float score = 0f;
                        for (int i = 0; i < headSize; i++) score += q[h * headSize + i] * keyCache[l, t, kvHead * headSize + i];
                        att[t] = score / MathF.Sqrt(headSize);
                    }
                    Softmax(att, pos + 1);
                    for (int i = 0; i < headSize; i++)
                    {
                        float sum = 0f;
                        for (int t = 0; t <= pos; t++) sum += att[t] * valueCache[l, t, kvHead * headSize + i];
                        xb[h * headSize + i] = sum;
                    }
                }
                var projected = new float[dim];
                MatVec(projected, xb, c.Wo[l], dim, dim);
                for (int i = 0; i < dim; i++) x[i] += projected[i];

                RmsNorm(xb, x, c.FfnNorm[l]);
                MatVec(hb, xb, c.W1[l], dim, hidden);
                MatVec(hb2, xb, c.W3[l], dim, hidden);
                for (int i = 0; i < hidden; i++)
                {
                    float value = hb[i];
                    hb[i] = value * (1.0f / (1.0f + MathF.Exp(-value))) * hb2[i];
                }
                MatVec(projected, hb, c.W2[l], hidden, dim);
                for (int i = 0; i < dim; i++) x[i] += projected[i];
            }
            RmsNorm(xb, x, c.FinalNorm);
            var row = new float[c.VocabSize];
            MatVec(row, xb, c.TokenEmbedding, dim, c.VocabSize);
            Array.Copy(row, 0, logits, pos * c.VocabSize, c.VocabSize);
        }
        return logits;
    }

    private static void RmsNorm(float[] output, float[] x, float[] weight)
    {
        float ss = 0f;
        for (int i = 0; i < x.Length; i++) ss += x[i] * x[i];
        ss = 1.0f / MathF.Sqrt(ss / x.Length + 1e-5f);
        for (int i = 0; i < x.Length; i++) output[i] = weight[i] * (ss * x[i]);
    }

    /// <summary>output[i] = Σ_j w[i, j] · x[j], W row-major [rows, n].</summary>
    private static void MatVec(float[] output, float[] x, float[] w, int n, int rows)
    {
        for (int i = 0; i < rows; i++)
        {
            float sum = 0f;
            for (int j = 0; j < n; j++) sum += w[i * n + j] * x[j];
            output[i] = sum;
        }
    }

    private static void Softmax(float[] x, int size)
    {
        float max = x[0];
        for (int i = 1; i < size; i++) max = MathF.Max(max, x[i]);
        float sum = 0f;
        for (int i = 0; i < size; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < size; i++) x[i] /= sum;
    }
}

/// <summary>The raw pieces of a llama2.c tokenizer.bin, enough to print generated ids (not an encoder).</summary>
internal sealed class Llama2cPieces
{
    private readonly byte[][] _pieces;

    private Llama2cPieces(byte[][] pieces) => _pieces = pieces;

    /// <summary>tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, the bytes.</summary>
    public static Llama2cPieces Read(string path, int vocabSize)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadInt32();
        var pieces = new byte[vocabSize][];
        for (int i = 0; i < vocabSize; i++)
        {
            reader.ReadSingle();
            pieces[i] = reader.ReadBytes(reader.ReadInt32());
        }
        return new Llama2cPieces(pieces);
    }

    /// <summary>
    /// As run.c prints a generation: the first id (BOS) is the prompt and is not printed; a piece's leading space
    /// is dropped right after BOS; "&lt;0xNN&gt;" pieces are raw bytes.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        var bytes = new List<byte>();
        for (int n = 1; n < ids.Count; n++)
        {
            byte[] piece = _pieces[ids[n]];
            string text = Encoding.UTF8.GetString(piece);
            if (ids[n - 1] == 1 && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
            if (text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text.EndsWith('>'))
                bytes.Add(Convert.ToByte(text.Substring(3, 2), 16));
            else bytes.AddRange(piece);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
