using OrtZo.Import;
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// Imports a real torch.onnx export (Fixtures/onnx/torch_tiny_gpt.onnx, made by tools/export/make_torch_fixture.py)
/// and compares OrtZo's scores with the per-token log-probabilities torch itself computed (torch_tiny_gpt.json).
/// Tolerance 1e-4 absolute on sums of up to 11 log-probabilities of about −5: torch's CPU float32 kernels and
/// ORT's differ only in summation order.
/// </summary>
public class TorchFixtureImportTests
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "onnx", name);

    [Test]
    public void Scores_MatchTorchsOwnLogprobs()
    {
        using var folder = new TempFolder("torch");
        var report = ModelImport.Import(Fixture("torch_tiny_gpt.onnx"), folder.File("imported"), new ImportOptions { Verify = ImportVerification.Forward });
        using var runner = ImportedModelRunner.Open(report.OutputFolder);
        using var json = JsonDocument.Parse(File.ReadAllText(Fixture("torch_tiny_gpt.json")));
        double worst = 0;
        int compared = 0;
        foreach (var batch in json.RootElement.GetProperty("batches").EnumerateArray())
        {
            var ids = batch.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
            var mask = batch.GetProperty("attention_mask").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
            var logprobs = batch.GetProperty("token_logprobs").EnumerateArray()
                .Select(r => r.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToArray()).ToArray();
            int rows = ids.Length, seq = ids[0].Length;
            // Score every real token after the first: label t = attention t, column 0 off.
            var labels = mask.SelectMany(r => r.Select((m, t) => t == 0 ? 0f : m)).ToArray();
            var scores = runner.Score(ids.SelectMany(r => r).ToArray(), rows, seq, mask.SelectMany(r => r).ToArray(), labels);
            for (int b = 0; b < rows; b++)
            {
                var scored = Enumerable.Range(1, seq - 1).Where(t => mask[b][t] == 1).ToList();
                double sum = scored.Sum(t => logprobs[b][t]);
                double mean = sum / Math.Max(scored.Count, 1);
                Assert.That(scores.SumLogprob[b], Is.EqualTo(sum).Within(1e-4), $"sum of row {b}");
                Assert.That(scores.MeanLogprob[b], Is.EqualTo(mean).Within(1e-4), $"mean of row {b}");
                worst = Math.Max(worst, Math.Abs(scores.SumLogprob[b] - sum));
                compared++;
            }
        }
        Assert.That(compared, Is.EqualTo(5));
        TestContext.Out.WriteLine($"largest |OrtZo - torch| over {compared} rows: {worst:E2}");
    }

    [Test]
    public void TorchsFoldedTransposeOfTheEmbedding_IsTiedBack()
    {
        using var folder = new TempFolder("torch-tie");
        var report = ModelImport.Import(Fixture("torch_tiny_gpt.onnx"), folder.File("imported"));
        var wte = report.Manifest.WeightInputs.Single(w => w.Name == "transformer.wte.weight");
        Assert.That(wte.Role, Is.EqualTo(WeightRole.Embedding));
        Assert.That(wte.Aliases, Has.Count.EqualTo(1).And.All.StartWith("onnx::MatMul_"), "the head's [d, V] copy is an alias");
        Assert.That(report.Manifest.WeightInputs.Count(w => w.Aliases is not null), Is.EqualTo(1));
        Assert.That(report.Manifest.WeightInputs.Count(w => w.Shape.SequenceEqual(new long[] { 32, 64 })), Is.Zero, "no separate head input");
    }

    [Test]
    public void AnonymousTorchWeights_GetRolesAndGroupsFromTheirNodes()
    {
        using var folder = new TempFolder("torch-roles");
        var report = ModelImport.Import(Fixture("torch_tiny_gpt.onnx"), folder.File("imported"));
        var manifest = report.Manifest;
        Assert.That(manifest.Groups, Is.EqualTo(new[] { "embeddings", "layers.0", "layers.1", "head" }));
        Assert.That(manifest.Architecture, Is.EqualTo("gpt2"), "from the tensor names");
        var anonymous = manifest.WeightInputs.Where(w => w.Name.StartsWith("onnx::", StringComparison.Ordinal)).ToList();
        Assert.That(anonymous, Has.Count.EqualTo(8), "four pre-transposed projections per block");
        Assert.That(anonymous.Select(w => w.Role), Has.All.EqualTo(WeightRole.Matrix));
        Assert.That(anonymous.Count(w => w.Group == "layers.0"), Is.EqualTo(4));
        Assert.That(anonymous.Count(w => w.Group == "layers.1"), Is.EqualTo(4));
        var byName = manifest.WeightInputs.ToDictionary(w => w.Name);
        Assert.That(byName["transformer.wpe.weight"].Role, Is.EqualTo(WeightRole.PositionEmbedding));
        Assert.That(byName["transformer.h.1.ln_2.weight"].Role, Is.EqualTo(WeightRole.Norm), "decomposed LayerNorm scale");
        Assert.That(byName["transformer.h.1.ln_2.bias"].Role, Is.EqualTo(WeightRole.Norm), "decomposed LayerNorm shift");
        Assert.That(byName["transformer.h.0.attn.c_attn.bias"].Role, Is.EqualTo(WeightRole.Bias));
        Assert.That((byName["transformer.ln_f.weight"].Role, byName["transformer.ln_f.weight"].Group), Is.EqualTo((WeightRole.Norm, "head")));
        Assert.That(report.KeptInitializers.Single(k => k.Name == "transformer.h.0.attn.bias").Reason, Is.EqualTo("causal mask (by value)"),
            "HF GPT-2's mask buffer is named like a bias; its values give it away");
    }
}
