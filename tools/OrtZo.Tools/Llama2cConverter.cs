using System.Text.Json;
using System.Text.Json.Nodes;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

using OrtZo.Onnx;

namespace OrtZo.Tools;

/// <summary>Options of <see cref="Llama2cConverter"/>.</summary>
internal sealed record Llama2cConvertOptions
{
    public int Opset { get; init; } = 17;

    /// <summary>Rows of the rotary caches and the causal mask; 0 means the checkpoint's seq_len.</summary>
    public int MaxLength { get; init; }

    public float RmsNormEpsilon { get; init; } = 1e-5f;

    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Write the weights to "model.onnx.data" instead of inline.</summary>
    public bool ExternalData { get; init; }
}

/// <summary>
/// Turns a llama2.c checkpoint into a standard ONNX Llama causal LM with its weights as initializers and Hugging
/// Face tensor names (model.embed_tokens.weight, model.layers.&lt;i&gt;.self_attn.q_proj.weight, ...,
/// model.norm.weight), matrices kept in their [out, in] layout and applied with Gemm(transB = 1) on a [B·T, d]
/// view, so no transposed copy exists. The forward is llama2.c's:
/// <code>
/// B = batch, T = sequence, d = dim, H = heads, Hkv = kv heads, Dh = d / H
/// x = embed[ids]
/// per layer:  x += wo · attn(rope(wq·rms(x)), rope(wk·rms(x)), wv·rms(x))     grouped-query: query head h reads kv head h / (H / Hkv)
///             x += w2 · (silu(w1·rms(x)) ⊙ w3·rms(x))                          SwiGLU
/// logits = embed · rms(x)                                                     classifier tied to the embedding
/// rms(x) = x / sqrt(mean(x²) + 1e-5) ⊙ w
/// rope: pairs (2i, 2i+1) of each head rotated by angle p · θ^(−2i/Dh), θ = 10000 (interleaved, as llama2.c;
///       Hugging Face's rotate_half layout would need permuted q/k rows — these weights are not permuted)
/// </code>
/// The cos/sin caches [max_len, Dh/2] and the causal mask are initializers the importer keeps. Inputs input_ids
/// and attention_mask (int64 [B,T], right padding: positions are 0..T−1); output logits [B,T,V].
/// </summary>
internal static class Llama2cConverter
{
    private const float MaskedScore = -1e9f;

    /// <summary>Converts the checkpoint into <paramref name="outputFolder"/>: model.onnx (+ model.onnx.data) and config.json.</summary>
    public static void Convert(string checkpointPath, string outputFolder, Llama2cConvertOptions? options = null)
    {
        options ??= new Llama2cConvertOptions();
        var checkpoint = Llama2cCheckpoint.Read(checkpointPath);
        var model = Build(checkpoint, options);
        Directory.CreateDirectory(outputFolder);
        string modelPath = Path.Combine(outputFolder, "model.onnx");
        if (options.ExternalData) OnnxModelWriter.WriteWithExternalData(model, modelPath, "model.onnx.data");
        else OnnxModelWriter.WriteInline(model, modelPath);
        AtomicFile.WriteAllText(Path.Combine(outputFolder, "config.json"), HfConfig(checkpoint, options));
    }

    public static ModelProto Build(Llama2cCheckpoint c, Llama2cConvertOptions? options = null)
    {
        options ??= new Llama2cConvertOptions();
        if (!c.SharedClassifier)
            throw OnnxErrors.Fail(OnnxError.Unsupported, null, "header field 'vocab_size'",
                "the checkpoint has an untied classifier; this converter writes the tied Llama head only");
        int d = c.Dim, v = c.VocabSize, heads = c.Heads, kvHeads = c.KvHeads, dh = c.HeadSize, hidden = c.HiddenDim;
        int maxLength = options.MaxLength > 0 ? options.MaxLength : c.SeqLen;
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "ortzo-llama2c",
            ProducerVersion = "1",
            Graph = new GraphProto { Name = "llama2c" },
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        var g = new GraphBuilder(model.Graph, options.Opset);
        g.Input("input_ids", OnnxElementType.Int64, "batch_size", "sequence_length");
        g.Input("attention_mask", OnnxElementType.Int64, "batch_size", "sequence_length");

        string Weight(string name, float[] values, params long[] shape) => g.Initializer(TensorData.FromFloats(g.ExactName(name), shape, values));
        string embed = Weight("model.embed_tokens.weight", c.TokenEmbedding, v, d);
        var (cos, sin) = RotaryTables(maxLength, dh, options.RopeTheta);
        string cosCache = Weight("model.rotary_emb.cos_cached", cos, maxLength, dh / 2);
        string sinCache = Weight("model.rotary_emb.sin_cached", sin, maxLength, dh / 2);
        string causal = Weight("model.causal_mask", TinyGptBuilder.CausalMask(maxLength), maxLength, maxLength);

        g.Scope = "/model";
        string ids = "input_ids";
        string idsShape = g.Node("Shape", [ids]);
        string seq = g.DimAsScalar(ids, 1);
        string positions = g.Node("Range", [g.Int64Scalar("zero", 0), seq, g.Int64Scalar("one", 1)]);
        string rowsShape = g.Int64s("rows_shape", -1, d);
        var shapeWithLast = new Dictionary<long, string>();
        string ShapeEndingIn(long last) => shapeWithLast.TryGetValue(last, out var s) ? s
            : shapeWithLast[last] = g.Node("Concat", [idsShape, g.Int64s("last_dim", last)], null, GraphBuilder.Int("axis", 0));
        // x [B,T,in] · Wᵀ with W [out,in], as Gemm on the [B·T, in] view.
        string Project(string x, string w, long outDim, long inDim)
        {
            string rows = g.Node("Reshape", [x, inDim == d ? rowsShape : g.Int64s("rows_shape", -1, inDim)]);
            return g.Node("Reshape", [g.Node("Gemm", [rows, w], null, GraphBuilder.Int("transB", 1)), ShapeEndingIn(outDim)]);
        }

        string x = g.Node("Gather", [embed, ids]);

        // Attention mask [B,1,T,T]: causal window of this length plus the key-padding term.
        string causalWindow = g.Node("Slice", [causal, g.Int64s("starts", 0, 0),
            g.Node("Concat", [g.Unsqueeze(seq, 0), g.Unsqueeze(seq, 0)], null, GraphBuilder.Int("axis", 0)), g.Int64s("axes", 0, 1)]);
        string keep = g.Node("Cast", ["attention_mask"], null, GraphBuilder.Int("to", OnnxElementType.Float));
        string padding = g.Node("Mul", [g.Node("Sub", [g.FloatScalar("one", 1f), keep]), g.FloatScalar("masked", MaskedScore)]);
        string mask = g.Node("Add", [causalWindow, g.Unsqueeze(padding, 1, 2)]);

        // cos/sin [T, Dh/2] → [1, T, 1, Dh/2, 1], broadcasting over batch, heads and the pair axis.
        g.Scope = "/model/rotary_emb";
        string cosT = g.Unsqueeze(g.Node("Gather", [cosCache, positions]), 0, 2, 4);
        string sinT = g.Unsqueeze(g.Node("Gather", [sinCache, positions]), 0, 2, 4);

        string pairShapeQ = g.Int64s("pair_shape", 0, 0, heads, dh / 2, 2);
        string pairShapeK = g.Int64s("pair_shape", 0, 0, kvHeads, dh / 2, 2);
        string Rope(string projected, string pairShape, int headCount)
        {
            string pairs = g.Node("Reshape", [projected, pairShape]);
            string even = g.Slice(pairs, [0], [1], [4]);
            string odd = g.Slice(pairs, [1], [2], [4]);
            string rotatedEven = g.Node("Sub", [g.Node("Mul", [even, cosT]), g.Node("Mul", [odd, sinT])]);
            string rotatedOdd = g.Node("Add", [g.Node("Mul", [even, sinT]), g.Node("Mul", [odd, cosT])]);
            string merged = g.Node("Reshape", [g.Node("Concat", [rotatedEven, rotatedOdd], null, GraphBuilder.Int("axis", 4)),
                g.Int64s("head_shape", 0, 0, headCount, dh)]);
            return g.Node("Transpose", [merged], null, GraphBuilder.Ints("perm", 0, 2, 1, 3));
        }
        int repeats = heads / kvHeads;
        // [B, Hkv, T, Dh] → [B, H, T, Dh] with kv head j serving query heads j·rep … j·rep + rep − 1.
        string RepeatKv(string kv) => repeats == 1 ? kv : g.Node("Reshape", [
            g.Node("Expand", [g.Unsqueeze(kv, 2), g.Int64s("repeat", 1, 1, repeats, 1, 1)]),
            g.Int64s("heads_shape", 0, heads, -1, dh)]);

        float scale = 1f / MathF.Sqrt(dh);
        for (int i = 0; i < c.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            string scope = $"/model/layers.{i}";
            string normed = RmsNorm(g, x, Weight(p + "input_layernorm.weight", c.AttentionNorm[i], d), options.RmsNormEpsilon, scope + "/input_layernorm");

            g.Scope = scope + "/self_attn";
            string q = Rope(Project(normed, Weight(p + "self_attn.q_proj.weight", c.Wq[i], d, d), d, d), pairShapeQ, heads);
            string k = RepeatKv(Rope(Project(normed, Weight(p + "self_attn.k_proj.weight", c.Wk[i], c.KvDim, d), c.KvDim, d), pairShapeK, kvHeads));
            string val = RepeatKv(g.Node("Transpose", [g.Node("Reshape", [Project(normed, Weight(p + "self_attn.v_proj.weight", c.Wv[i], c.KvDim, d), c.KvDim, d),
                g.Int64s("head_shape", 0, 0, kvHeads, dh)])], null, GraphBuilder.Ints("perm", 0, 2, 1, 3)));
            string scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, g.Node("Transpose", [k], null, GraphBuilder.Ints("perm", 0, 1, 3, 2))]),
                g.FloatScalar("scale", scale)]), mask]);
            string context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [g.Node("Softmax", [scores], null, GraphBuilder.Int("axis", 3)), val])],
                null, GraphBuilder.Ints("perm", 0, 2, 1, 3)), g.Int64s("merged_shape", 0, 0, d)]);
            g.Scope = scope + "/self_attn/o_proj";
            x = g.Node("Add", [x, Project(context, Weight(p + "self_attn.o_proj.weight", c.Wo[i], d, d), d, d)]);

            normed = RmsNorm(g, x, Weight(p + "post_attention_layernorm.weight", c.FfnNorm[i], d), options.RmsNormEpsilon, scope + "/post_attention_layernorm");
            g.Scope = scope + "/mlp";
            string gate = Project(normed, Weight(p + "mlp.gate_proj.weight", c.W1[i], hidden, d), hidden, d);
            string up = Project(normed, Weight(p + "mlp.up_proj.weight", c.W3[i], hidden, d), hidden, d);
            string activated = g.Node("Mul", [g.Node("Mul", [gate, g.Node("Sigmoid", [gate])]), up]);
            g.Scope = scope + "/mlp/down_proj";
            x = g.Node("Add", [x, Project(activated, Weight(p + "mlp.down_proj.weight", c.W2[i], d, hidden), d, hidden)]);
        }

        string final = RmsNorm(g, x, Weight("model.norm.weight", c.FinalNorm, d), options.RmsNormEpsilon, "/model/norm");
        g.Scope = "/lm_head";
        g.Node("Reshape", [g.Node("Gemm", [g.Node("Reshape", [final, rowsShape]), embed], null, GraphBuilder.Int("transB", 1)), ShapeEndingIn(v)],
            g.ExactName("logits"));
        g.Output("logits", OnnxElementType.Float, "batch_size", "sequence_length", (long)v);
        return model;
    }

    /// <summary>cos and sin of p·θ^(−2i/Dh) for p &lt; maxLength, i &lt; Dh/2, as llama2.c computes them (in float).</summary>
    internal static (float[] Cos, float[] Sin) RotaryTables(int maxLength, int headSize, double theta)
    {
        int half = headSize / 2;
        var cos = new float[maxLength * half];
        var sin = new float[maxLength * half];
        for (int p = 0; p < maxLength; p++)
        {
            for (int i = 0; i < half; i++)
            {
                float frequency = 1f / MathF.Pow((float)theta, 2 * i / (float)headSize);
                float angle = p * frequency;
                cos[p * half + i] = MathF.Cos(angle);
                sin[p * half + i] = MathF.Sin(angle);
            }
        }
        return (cos, sin);
    }

    private static string RmsNorm(GraphBuilder g, string x, string weight, float epsilon, string scope)
    {
        g.Scope = scope;
        string meanSquare = g.Reduce("ReduceMean", g.Node("Mul", [x, x]), [-1], keepDims: true);
        string inverse = g.Node("Reciprocal", [g.Node("Sqrt", [g.Node("Add", [meanSquare, g.FloatScalar("eps", epsilon)])])]);
        return g.Node("Mul", [g.Node("Mul", [x, inverse]), weight]);
    }

    private static string HfConfig(Llama2cCheckpoint c, Llama2cConvertOptions options)
    {
        var config = new JsonObject
        {
            ["model_type"] = "llama",
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["vocab_size"] = c.VocabSize,
            ["hidden_size"] = c.Dim,
            ["intermediate_size"] = c.HiddenDim,
            ["num_hidden_layers"] = c.Layers,
            ["num_attention_heads"] = c.Heads,
            ["num_key_value_heads"] = c.KvHeads,
            ["max_position_embeddings"] = options.MaxLength > 0 ? options.MaxLength : c.SeqLen,
            ["rms_norm_eps"] = options.RmsNormEpsilon,
            ["rope_theta"] = options.RopeTheta,
            ["rope_interleaved"] = true,
            ["tie_word_embeddings"] = true,
            ["hidden_act"] = "silu",
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
            ["torch_dtype"] = "float32",
            ["converted_from"] = "llama2.c legacy checkpoint",
        };
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
