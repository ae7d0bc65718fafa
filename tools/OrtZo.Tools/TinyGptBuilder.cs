using OrtZo.Onnx.Proto;

using OrtZo.Onnx;

namespace OrtZo.Tools;

/// <summary>
/// Builds a small GPT-2-style decoder as a standard ONNX causal LM with its weights as initializers, the way a
/// torch export looks before OrtZo imports it: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B,T]),
/// output <c>logits</c> [B,T,V], Hugging Face GPT-2 tensor names (Conv1D layout: matrices are [in, out]).
/// <code>
/// B = batch, T = sequence, P = past length, S = P + T, d = ModelDim, H = Heads, V = VocabSize
/// h = wte[ids] + wpe[P .. P+T)                                (or wpe[position_ids] with PositionIdsInput)
/// per block:  h += c_proj(attn(ln_1(h)));   h += mlp_c_proj(gelu(c_fc(ln_2(h))))       pre-LayerNorm
/// logits = ln_f(h) · wteᵀ                                     tied head: Gemm(transB = 1), no transposed copy
/// attention mask = causal_mask[P..P+T, 0..S) + (1 − attention_mask)·(−1e9)   (causal mask is an initializer)
/// </code>
/// Weights are drawn from <see cref="SeededNormal"/>, so the same config gives the same bytes everywhere.
/// </summary>
internal static class TinyGptBuilder
{
    /// <summary>Large enough to zero a softmax weight, small enough that a fully masked row stays finite.</summary>
    private const float MaskedScore = -1e9f;

    public static ModelProto Build(TinyGptConfig config)
    {
        config.Validate();
        int d = config.ModelDim, v = config.VocabSize, heads = config.Heads, dh = config.HeadDim;
        var random = new SeededNormal(config.Seed);
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "ortzo-tiny-gpt",
            ProducerVersion = "1",
            Graph = new GraphProto { Name = "tiny_gpt" },
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = config.Opset });
        var g = new GraphBuilder(model.Graph, config.Opset);

        g.Input("input_ids", OnnxElementType.Int64, "batch_size", "sequence_length");
        g.Input("attention_mask", OnnxElementType.Int64, "batch_size", config.WithPast ? "total_sequence_length" : "sequence_length");
        if (config.PositionIdsInput) g.Input("position_ids", OnnxElementType.Int64, "batch_size", "sequence_length");
        if (config.WithPast)
        {
            for (int i = 0; i < config.Layers; i++)
            {
                g.Input($"past_key_values.{i}.key", OnnxElementType.Float, "batch_size", (long)heads, "past_sequence_length", (long)dh);
                g.Input($"past_key_values.{i}.value", OnnxElementType.Float, "batch_size", (long)heads, "past_sequence_length", (long)dh);
            }
        }

        float residualStd = config.InitStd / MathF.Sqrt(2f * config.Layers);
        string Weight(string name, long[] shape, float std) =>
            g.Initializer(TensorData.FromFloats(g.ExactName(name), shape, random.Normal(shape.Aggregate(1L, (a, b) => a * b), std)));
        string Bias(string name, long size) =>
            config.FreshInit ? Filled(name, [size], 0f) : Weight(name, [size], config.InitStd);
        string NormScale(string name, long size) =>
            config.FreshInit ? Filled(name, [size], 1f)
                : g.Initializer(TensorData.FromFloats(g.ExactName(name), [size], random.Normal(size, 0.1f, 1f)));
        string Filled(string name, long[] shape, float value) =>
            g.Initializer(TensorData.FromFloats(g.ExactName(name), shape, Enumerable.Repeat(value, (int)shape.Aggregate(1L, (a, b) => a * b)).ToArray()));

        string wte = Weight("transformer.wte.weight", [v, d], config.InitStd);
        string wpe = Weight("transformer.wpe.weight", [config.MaxLength, d], config.InitStd / 2);
        string causal = g.Initializer(TensorData.FromFloats(g.ExactName("transformer.causal_mask"),
            [config.MaxLength, config.MaxLength], CausalMask(config.MaxLength)));

        g.Scope = "/transformer";
        string ids = "input_ids";
        string seq = g.DimAsScalar(ids, 1);
        string past = config.WithPast ? g.DimAsScalar("past_key_values.0.key", 2) : g.Int64Scalar("zero", 0);
        string total = g.Node("Add", [past, seq]);
        string positions = config.PositionIdsInput ? "position_ids" : g.Node("Range", [past, total, g.Int64Scalar("one", 1)]);
        string h = g.Node("Add", [g.Node("Gather", [wte, ids]), g.Node("Gather", [wpe, positions])]);

        // [T, S] causal window for these positions, plus a [B, 1, 1, S] key-padding term.
        string causalWindow = g.Node("Slice", [causal,
            g.Node("Concat", [g.Unsqueeze(past, 0), g.Int64s("zero", 0)], null, GraphBuilder.Int("axis", 0)),
            g.Node("Concat", [g.Unsqueeze(total, 0), g.Unsqueeze(total, 0)], null, GraphBuilder.Int("axis", 0)),
            g.Int64s("axes", 0, 1)]);
        string keep = g.Node("Cast", ["attention_mask"], null, GraphBuilder.Int("to", OnnxElementType.Float));
        string padding = g.Node("Mul", [g.Node("Sub", [g.FloatScalar("one", 1f), keep]), g.FloatScalar("masked", MaskedScore)]);
        string mask = g.Node("Add", [causalWindow, g.Unsqueeze(padding, 1, 2)]);

        float scale = 1f / MathF.Sqrt(dh);
        string headShape = g.Int64s("head_shape", 0, 0, heads, dh);
        string mergedShape = g.Int64s("merged_shape", 0, 0, d);
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"transformer.h.{i}.";
            string scope = $"/transformer/h.{i}";
            string ln1 = LayerNorm(g, h, NormScale(p + "ln_1.weight", d), Bias(p + "ln_1.bias", d), scope + "/ln_1");

            g.Scope = scope + "/attn/c_attn";
            string qkv = g.Node("Add", [g.Node("MatMul", [ln1, Weight(p + "attn.c_attn.weight", [d, 3 * d], config.InitStd)]),
                Bias(p + "attn.c_attn.bias", 3 * d)]);
            g.Scope = scope + "/attn";
            string SplitHeads(int part) => g.Node("Transpose",
                [g.Node("Reshape", [g.Slice(qkv, [part * d], [(part + 1) * d], [2]), headShape])], null, GraphBuilder.Ints("perm", 0, 2, 1, 3));
            string q = SplitHeads(0), k = SplitHeads(1), val = SplitHeads(2);
            if (config.WithPast)
            {
                k = g.Node("Concat", [$"past_key_values.{i}.key", k], $"present.{i}.key", GraphBuilder.Int("axis", 2));
                val = g.Node("Concat", [$"past_key_values.{i}.value", val], $"present.{i}.value", GraphBuilder.Int("axis", 2));
            }
            string scores = g.Node("Mul", [g.Node("MatMul", [q, g.Node("Transpose", [k], null, GraphBuilder.Ints("perm", 0, 1, 3, 2))]),
                g.FloatScalar("scale", scale)]);
            string probs = g.Node("Softmax", [g.Node("Add", [scores, mask])], null, GraphBuilder.Int("axis", 3));
            string context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [probs, val])], null, GraphBuilder.Ints("perm", 0, 2, 1, 3)), mergedShape]);
            g.Scope = scope + "/attn/c_proj";
            string attn = g.Node("Add", [g.Node("MatMul", [context, Weight(p + "attn.c_proj.weight", [d, d], residualStd)]),
                Bias(p + "attn.c_proj.bias", d)]);
            g.Scope = scope;
            h = g.Node("Add", [h, attn]);

            string ln2 = LayerNorm(g, h, NormScale(p + "ln_2.weight", d), Bias(p + "ln_2.bias", d), scope + "/ln_2");
            g.Scope = scope + "/mlp/c_fc";
            string up = g.Node("Add", [g.Node("MatMul", [ln2, Weight(p + "mlp.c_fc.weight", [d, 4 * d], config.InitStd)]),
                Bias(p + "mlp.c_fc.bias", 4 * d)]);
            g.Scope = scope + "/mlp/act";
            string gelu = Gelu(g, up);
            g.Scope = scope + "/mlp/c_proj";
            string down = g.Node("Add", [g.Node("MatMul", [gelu, Weight(p + "mlp.c_proj.weight", [4 * d, d], residualStd)]),
                Bias(p + "mlp.c_proj.bias", d)]);
            g.Scope = scope;
            h = g.Node("Add", [h, down]);
        }

        string final = LayerNorm(g, h, NormScale("transformer.ln_f.weight", d), Bias("transformer.ln_f.bias", d), "/transformer/ln_f");
        string head = wte;
        if (config.DuplicateTiedHead)
        {
            var copy = model.Graph.Initializer.First(t => t.Name == wte).Clone();
            copy.Name = g.ExactName("lm_head.weight");
            head = g.Initializer(copy);
        }
        g.Scope = "/lm_head";
        string rows = g.Node("Reshape", [final, g.Int64s("rows_shape", -1, d)]);
        string logits2d = g.Node("Gemm", [rows, head], null, GraphBuilder.Int("transB", 1));
        string logitsShape = g.Node("Concat", [g.Node("Shape", [ids]), g.Int64s("vocab", v)], null, GraphBuilder.Int("axis", 0));
        g.Node("Reshape", [logits2d, logitsShape], g.ExactName("logits"));

        g.Output("logits", OnnxElementType.Float, "batch_size", "sequence_length", (long)v);
        if (config.WithPast)
        {
            for (int i = 0; i < config.Layers; i++)
            {
                g.Output($"present.{i}.key", OnnxElementType.Float, "batch_size", (long)heads, "total_sequence_length", (long)dh);
                g.Output($"present.{i}.value", OnnxElementType.Float, "batch_size", (long)heads, "total_sequence_length", (long)dh);
            }
        }
        return model;
    }

    /// <summary>Builds the model and writes it to <paramref name="path"/>, with weights inline or in "&lt;file&gt;.data".</summary>
    public static void Write(TinyGptConfig config, string path, bool externalData)
    {
        var model = Build(config);
        if (externalData) OnnxModelWriter.WriteWithExternalData(model, path, Path.GetFileName(path) + ".data");
        else OnnxModelWriter.WriteInline(model, path);
    }

    /// <summary>0 where key ≤ query, −1e9 above the diagonal.</summary>
    internal static float[] CausalMask(int size)
    {
        var mask = new float[size * size];
        for (int row = 0; row < size; row++)
            for (int col = row + 1; col < size; col++) mask[row * size + col] = MaskedScore;
        return mask;
    }

    /// <summary>LayerNormalization over the last axis (eps 1e-5); decomposed before opset 17, as torch exports it.</summary>
    internal static string LayerNorm(GraphBuilder g, string x, string scale, string bias, string scope)
    {
        g.Scope = scope;
        if (g.Opset >= 17)
            return g.Node("LayerNormalization", [x, scale, bias], null, GraphBuilder.Int("axis", -1), GraphBuilder.Float("epsilon", 1e-5f));
        string centered = g.Node("Sub", [x, g.Reduce("ReduceMean", x, [-1], keepDims: true)]);
        string variance = g.Reduce("ReduceMean", g.Node("Mul", [centered, centered]), [-1], keepDims: true);
        string normalized = g.Node("Div", [centered, g.Node("Sqrt", [g.Node("Add", [variance, g.FloatScalar("eps", 1e-5f)])])]);
        return g.Node("Add", [g.Node("Mul", [normalized, scale]), bias]);
    }

    /// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)) (torch's default nn.GELU).</summary>
    internal static string Gelu(GraphBuilder g, string x)
    {
        string erf = g.Node("Erf", [g.Node("Mul", [x, g.FloatScalar("inv_sqrt2", 1f / MathF.Sqrt(2f))])]);
        return g.Node("Mul", [g.Node("Mul", [x, g.FloatScalar("half", 0.5f)]), g.Node("Add", [erf, g.FloatScalar("one", 1f)])]);
    }
}
