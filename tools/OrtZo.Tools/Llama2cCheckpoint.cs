using System.Runtime.InteropServices;

using OrtZo.Onnx;

namespace OrtZo.Tools;

/// <summary>
/// A llama2.c "legacy" checkpoint (Karpathy's run.c format): seven int32 — dim, hidden_dim, n_layers, n_heads,
/// n_kv_heads, vocab_size, seq_len — then fp32 arrays, row-major [out, in]: token embedding [V, d]; attention
/// RMSNorm [L, d]; wq [L, d, d]; wk, wv [L, kv_dim, d]; wo [L, d, d]; FFN RMSNorm [L, d]; w1 [L, hidden, d];
/// w2 [L, d, hidden]; w3 [L, hidden, d]; final RMSNorm [d]; the RoPE tables freq_cis_real/imag [seq_len,
/// head_size/2] (skipped: they are recomputed); and, only when vocab_size is negative, an untied classifier [V, d].
/// </summary>
internal sealed class Llama2cCheckpoint
{
    public required int Dim { get; init; }
    public required int HiddenDim { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int VocabSize { get; init; }
    public required int SeqLen { get; init; }

    /// <summary>True when the classifier is the token embedding (vocab_size was positive in the header).</summary>
    public required bool SharedClassifier { get; init; }

    public required float[] TokenEmbedding { get; init; }
    public required float[][] AttentionNorm { get; init; }
    public required float[][] Wq { get; init; }
    public required float[][] Wk { get; init; }
    public required float[][] Wv { get; init; }
    public required float[][] Wo { get; init; }
    public required float[][] FfnNorm { get; init; }
    public required float[][] W1 { get; init; }
    public required float[][] W2 { get; init; }
    public required float[][] W3 { get; init; }
    public required float[] FinalNorm { get; init; }

    /// <summary>The untied classifier [V, d], or null when it is shared with <see cref="TokenEmbedding"/>.</summary>
    public float[]? Classifier { get; init; }

    public int HeadSize => Dim / Heads;
    public int KvDim => KvHeads * HeadSize;

    public static Llama2cCheckpoint Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw OnnxErrors.Fail(OnnxError.Unreadable, path, null, $"cannot read the checkpoint: {e.Message}", e);
        }
        if (bytes.Length < 28)
            throw OnnxErrors.Fail(OnnxError.Unreadable, path, "header", $"the file has {bytes.Length} bytes; a llama2.c checkpoint starts with seven int32");
        var header = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, 28));
        int dim = header[0], hidden = header[1], layers = header[2], heads = header[3], kvHeads = header[4], vocab = header[5], seqLen = header[6];
        bool shared = vocab > 0;
        vocab = Math.Abs(vocab);
        string[] names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
        int[] values = [dim, hidden, layers, heads, kvHeads, vocab, seqLen];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] <= 0 || values[i] > 1 << 20)
                throw OnnxErrors.Fail(OnnxError.Unreadable, path, $"header field '{names[i]}'", $"is {values[i]}; expected a positive size");
        }
        if (dim % heads != 0 || heads % kvHeads != 0 || dim / heads % 2 != 0)
            throw OnnxErrors.Fail(OnnxError.Unreadable, path, "header",
                $"dim {dim}, n_heads {heads}, n_kv_heads {kvHeads}: expected dim divisible by n_heads, n_heads by n_kv_heads, and an even head size");

        int headSize = dim / heads, kvDim = kvHeads * headSize;
        long expected = 7L * 4 + 4L * ((long)vocab * dim + layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim + 3L * hidden * dim) + dim
                                      + (long)seqLen * headSize + (shared ? 0 : (long)vocab * dim));
        if (bytes.Length != expected)
            throw OnnxErrors.Fail(OnnxError.Unreadable, path, null,
                $"the file has {bytes.Length} bytes; the header's sizes call for {expected}");

        float[] floats = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(28)).ToArray();
        int offset = 0;
        float[] Take(long count)
        {
            var result = floats.AsSpan(offset, (int)count).ToArray();
            offset += (int)count;
            return result;
        }
        float[][] TakeLayers(long perLayer) => Enumerable.Range(0, layers).Select(_ => Take(perLayer)).ToArray();

        var embedding = Take((long)vocab * dim);
        var attentionNorm = TakeLayers(dim);
        var wq = TakeLayers((long)dim * dim);
        var wk = TakeLayers((long)kvDim * dim);
        var wv = TakeLayers((long)kvDim * dim);
        var wo = TakeLayers((long)dim * dim);
        var ffnNorm = TakeLayers(dim);
        var w1 = TakeLayers((long)hidden * dim);
        var w2 = TakeLayers((long)dim * hidden);
        var w3 = TakeLayers((long)hidden * dim);
        var finalNorm = Take(dim);
        offset += seqLen * headSize; // freq_cis_real and freq_cis_imag, [seq_len, head_size / 2] each
        var classifier = shared ? null : Take((long)vocab * dim);
        return new Llama2cCheckpoint
        {
            Dim = dim, HiddenDim = hidden, Layers = layers, Heads = heads, KvHeads = kvHeads, VocabSize = vocab, SeqLen = seqLen,
            SharedClassifier = shared, TokenEmbedding = embedding, AttentionNorm = attentionNorm, Wq = wq, Wk = wk, Wv = wv, Wo = wo,
            FfnNorm = ffnNorm, W1 = w1, W2 = w2, W3 = w3, FinalNorm = finalNorm, Classifier = classifier,
        };
    }
}
