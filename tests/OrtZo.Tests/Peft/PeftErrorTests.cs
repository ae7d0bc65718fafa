using OrtZo.Peft;
using OrtZo.Tools;
using Google.Protobuf;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>Bad options and graphs a rewrite cannot handle fail with a message naming the file or tensor and what was expected.</summary>
public class PeftErrorTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("peft-errors");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Cache => Path.Combine(_temp.Path, "cache");

    [Test]
    public void LoraTargetsThatMatchNothingListTheMatrices()
    {
        var e = Assert.Throws<OrtZoException>(() => ZoModel.Open(TestPaths.Stories260k, threads: 2,
            peft: new PeftOptions { Scheme = PeftScheme.Lora, LoraTargets = ["c_attn"], CacheFolder = Cache }));
        Assert.That(e!.Message, Does.Contain("model.onnx").And.Contain("no 2-D projection matches c_attn").And.Contain("model.layers.0.self_attn.q_proj.weight"));
    }

    [Test]
    public void LoraOnGpt2FindsTheFusedProjectionByDefault()
    {
        string folder = PeftFixtures.TinyGpt(_temp.Path, new TinyGptConfig { Layers = 2, Seed = 2 });
        using var model = ZoModel.Open(folder, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Lora, CacheFolder = Cache });
        Assert.That(model.ReadWeights().Layout.Slots.Select(s => s.Spec.Name), Is.EqualTo(new[]
        {
            "transformer.h.0.attn.c_attn.weight.lora_A", "transformer.h.0.attn.c_attn.weight.lora_B",
            "transformer.h.1.attn.c_attn.weight.lora_A", "transformer.h.1.attn.c_attn.weight.lora_B",
        }));
        Assert.That(model.ReadWeights().Layout.Slots[1].Spec.Shape, Is.EqualTo(new long[] { 192, 8 }), "B is [out, r] of the fused [64, 192] Conv1D weight");
    }

    [Test]
    public void LoraOnTheTorchExportMatchesAnonymousWeightsByTheirNodeNames()
    {
        string folder = PeftFixtures.TorchTinyGpt(_temp.Path);
        using var full = ZoModel.Open(folder, threads: 2);
        using var lora = ZoModel.Open(folder, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Lora, LoraTargets = ["c_attn", "c_proj"], CacheFolder = Cache });
        var names = lora.ReadWeights().Layout.Slots.Select(s => s.Spec.Name).ToList();
        Assert.That(names, Has.Count.EqualTo(2 * 2 * 3), "c_attn, attn.c_proj and mlp.c_proj in 2 layers, A and B each");
        Assert.That(names, Has.All.StartWith("onnx::MatMul_"));
        var rows = PeftFixtures.RandomRows(2, 10, 64, seed: 1);
        Assert.That(PeftFixtures.MaxAbsDiff(PeftFixtures.Scores(full, rows), PeftFixtures.Scores(lora, rows)), Is.LessThanOrEqualTo(1e-6));
    }

    [Test]
    public void PrefixRefusesAnUnknownOpBetweenScoresAndSoftmax()
    {
        // A soft-cap (Tanh) on layer 0's scores, as Gemma 2 has: the prefix columns could not follow it safely.
        string folder = Path.Combine(_temp.Path, "soft-capped");
        Export.ExportTests.CopyFolder(TestPaths.Stories260k, folder);
        string graphPath = Path.Combine(folder, "model.onnx");
        var model = OnnxModelFile.Parse(File.ReadAllBytes(graphPath), graphPath);
        var softmax = model.Graph.Node.First(n => n.OpType == "Softmax");
        var tanh = new NodeProto { OpType = "Tanh", Name = "/model/layers.0/self_attn/softcap", Input = { softmax.Input[0] }, Output = { "softcapped" } };
        model.Graph.Node.Insert(model.Graph.Node.IndexOf(softmax), tanh);
        softmax.Input[0] = "softcapped";
        File.WriteAllBytes(graphPath, model.ToByteArray());
        var e = Assert.Throws<OrtZoException>(() => ZoModel.Open(folder, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Prefix, CacheFolder = Cache }));
        Assert.That(e!.Message, Does.Contain("/model/layers.0/self_attn/softcap").And.Contain("Tanh between the attention scores and Softmax"));
    }

    [Test]
    public void PromptTokensMustLeaveRoomForText()
    {
        var e = Assert.Throws<OrtZoException>(() => ZoModel.Open(TestPaths.Stories260k, threads: 2,
            peft: new PeftOptions { Scheme = PeftScheme.Prompt, PromptTokens = 511, CacheFolder = Cache }));
        Assert.That(e!.Message, Does.Contain("max_length").And.Contain("fewer than 2"));
    }

    [TestCase(nameof(PeftOptions.LoraRank))]
    [TestCase(nameof(PeftOptions.PrefixTokens))]
    [TestCase(nameof(PeftOptions.RandomInitStd))]
    public void OutOfRangeOptionsAreNamed(string option)
    {
        var options = option switch
        {
            nameof(PeftOptions.LoraRank) => new PeftOptions { LoraRank = 0 },
            nameof(PeftOptions.PrefixTokens) => new PeftOptions { PrefixTokens = 0 },
            _ => new PeftOptions { RandomInitStd = double.NaN },
        };
        var e = Assert.Throws<OrtZoException>(() => ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: options));
        Assert.That(e!.Message, Does.StartWith($"option {option}:"));
        Assert.That((e.Kind, e.Subject), Is.EqualTo((OrtZoErrorKind.InvalidOption, option)));
    }

    [Test]
    public void AdapterFoldersRefuseOtherOptionsAndAChangedBaseModel()
    {
        string baseCopy = Path.Combine(_temp.Path, "base-copy");
        Export.ExportTests.CopyFolder(TestPaths.Stories260k, baseCopy);
        string adapters = Path.Combine(_temp.Path, "adapters");
        using (var model = ZoModel.Open(baseCopy, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Prefix, CacheFolder = Cache }))
            model.Save(adapters);
        var other = Assert.Throws<OrtZoException>(() => ZoModel.Open(adapters, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Lora, CacheFolder = Cache }));
        Assert.That(other!.Message, Does.Contain("holds").And.Contain("prefix"));
        Assert.That(other.Reason, Is.EqualTo(AdapterFolderError.OptionsDiffer));

        using (var full = ZoModel.Open(baseCopy, threads: 2))
        {
            full.ReadWeights().WriteFloat32(0, full.ReadWeights().ReadFloat32(0).Select(v => -v).ToArray());
            full.Save(baseCopy);
        }
        var changed = Assert.Throws<OrtZoException>(() => ZoModel.Open(adapters, threads: 2));
        Assert.That(changed!.Message, Does.Contain(Path.Combine(adapters, "ortzo.json")).And.Contain("not the one the adapters were trained on"));
        Assert.That(changed.Reason, Is.EqualTo(AdapterFolderError.BaseChanged));
    }
}
