using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// LoRA as a graph rewrite: beside each targeted projection y = x·W, a low-rank branch adds (x·Aᵀ)·Bᵀ·(α/r), with
/// A [r, in] and B [out, r] new graph inputs named &lt;weight&gt;.lora_A / .lora_B (peft's layout, whatever W's own).
/// <code>
/// Gemm(x, W):       t = Gemm(x, A, transB=1)                 [N, r]
///                   y = Gemm(t, B, C = y_base, alpha = α/r, transB=1)      the add is Gemm's C term
/// MatMul(x, W):     t = MatMul(x, Transpose(A)) · (α/r)      [..., r]      scaling the r-wide tensor is cheaper
///                   y = y_base + MatMul(t, Transpose(B))     [..., out]
/// </code>
/// The product's output keeps its name (its readers need no change); the original product now writes y_base.
/// A starts U(±1/√in) (kaiming_uniform, a = √5), B at zero, so the rewritten model scores exactly as the base
/// model until B moves: y_base + 0 is y_base bit for bit. The two Transposes act on r·in and r·out elements.
/// </summary>
internal static class LoraRewrite
{
    public static List<AdapterTensor> Apply(ModelProto model, IReadOnlyList<LoraSite> sites, int rank, double alpha, ulong initSeed)
    {
        var graph = model.Graph;
        var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_lora/");
        float scale = (float)(alpha / rank);
        var adapters = new List<AdapterTensor>();
        foreach (var site in sites)
        {
            int elementType = OnnxElementType.FromDType(site.DType);
            string a = g.ExactName(site.AName), b = g.ExactName(site.BName);
            graph.Input.Add(GraphBuilder.ValueInfo(a, elementType, [(long)rank, site.InFeatures]));
            graph.Input.Add(GraphBuilder.ValueInfo(b, elementType, [site.OutFeatures, (long)rank]));
            adapters.Add(new AdapterTensor(a, site.DType, [rank, site.InFeatures], site.Group,
                AdapterInit.KaimingUniform(initSeed, a, rank, site.InFeatures)));
            adapters.Add(new AdapterTensor(b, site.DType, [site.OutFeatures, rank], site.Group, new float[site.OutFeatures * rank]));

            g.Scope = "/ortzo_lora/" + site.Weight;
            var product = site.Product;
            string x = product.Input[0], y = product.Output[0];
            string yBase = GraphSurgery.RenameProducedValue(g, product, y, "base");
            if (product.OpType == "Gemm")
            {
                string t = g.Node("Gemm", [x, a], null, GraphBuilder.Int("transB", 1));
                g.Node("Gemm", [t, b, yBase], y, GraphBuilder.Int("transB", 1), GraphBuilder.Float("alpha", scale), GraphBuilder.Float("beta", 1f));
            }
            else
            {
                string at = g.Node("Transpose", [a], null, GraphBuilder.Ints("perm", 1, 0));
                string bt = g.Node("Transpose", [b], null, GraphBuilder.Ints("perm", 1, 0));
                string t = g.Node("Mul", [g.Node("MatMul", [x, at]), GraphSurgery.FloatScalar(g, "lora_scale", scale, elementType)]);
                g.Node("Add", [yBase, g.Node("MatMul", [t, bt])], y);
            }
        }
        return adapters;
    }
}
