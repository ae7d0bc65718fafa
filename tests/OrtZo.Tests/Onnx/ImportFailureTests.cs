using OrtZo.Import;
using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Tests.Onnx;

/// <summary>A failed import throws an error naming the file and the part at fault, and leaves no folder behind.</summary>
public class ImportFailureTests
{
    private static readonly TinyGptConfig Small = new() { VocabSize = 32, ModelDim = 64, Layers = 1, Heads = 2, MaxLength = 8 };

    private static OrtZoException ImportFails(TempFolder folder, string source)
    {
        string output = folder.File("imported");
        var e = Assert.Throws<OrtZoException>(() => ModelImport.Import(source, output))!;
        Assert.That(Directory.Exists(output), Is.False, "no output folder");
        Assert.That(Directory.GetFileSystemEntries(folder.Path).Select(Path.GetFileName).Where(n => n!.StartsWith('.')), Is.Empty,
            "no temporary folder left beside it");
        return e;
    }

    private static string WriteModel(TempFolder folder, ModelProto model)
    {
        string path = folder.File("model.onnx");
        OnnxModelWriter.WriteInline(model, path);
        return path;
    }

    [Test]
    public void GraphWithoutLogits_IsNotACausalLm()
    {
        using var folder = new TempFolder("nologits");
        var model = TinyGptBuilder.Build(Small);
        var logits = model.Graph.Output.Single(o => o.Name == "logits");
        model.Graph.Output.Remove(logits);
        var g = new GraphBuilder(model.Graph, 17);
        g.Node("ReduceMax", ["logits"], "best_score", GraphBuilder.Ints("axes", 2), GraphBuilder.Int("keepdims", 0));
        g.Output("best_score", OnnxElementType.Float, "batch_size", "sequence_length");
        var e = ImportFails(folder, WriteModel(folder, model));
        Assert.That(e.Reason, Is.EqualTo(OnnxError.NotACausalLm));
        Assert.That(e.Message, Does.Contain("model.onnx").And.Contain("logits").And.Contain("best_score"));
    }

    [Test]
    public void ExternalDataFileTooShort_NamesTheFileAndTensor()
    {
        using var folder = new TempFolder("short");
        string path = folder.File("model.onnx");
        TinyGptBuilder.Write(Small, path, externalData: true);
        using (var stream = new FileStream(path + ".data", FileMode.Open)) stream.SetLength(stream.Length / 2);
        var e = ImportFails(folder, path);
        Assert.That(e.Reason, Is.EqualTo(OnnxError.InvalidExternalData));
        Assert.That(e.Message, Does.Contain("model.onnx.data").And.Contain("tensor '").And.Contain("expected"));
    }

    [Test]
    public void UnknownGraphInput_IsRefused()
    {
        using var folder = new TempFolder("extra");
        var model = TinyGptBuilder.Build(Small);
        new GraphBuilder(model.Graph, 17).Input("token_type_ids", OnnxElementType.Int64, "batch_size", "sequence_length");
        var e = ImportFails(folder, WriteModel(folder, model));
        Assert.That(e.Reason, Is.EqualTo(OnnxError.Unsupported));
        Assert.That(e.Message, Does.Contain("input 'token_type_ids'"));
    }

    [Test]
    public void MergedDecoder_IsRefusedWithAHint()
    {
        using var folder = new TempFolder("merged");
        var model = TinyGptBuilder.Build(Small);
        new GraphBuilder(model.Graph, 17).Input("use_cache_branch", OnnxElementType.Bool, 1L);
        var e = ImportFails(folder, WriteModel(folder, model));
        Assert.That(e.Reason, Is.EqualTo(OnnxError.Unsupported));
        Assert.That(e.Message, Does.Contain("decoder_model.onnx"));
    }

    [Test]
    public void OldOpset_IsRefused()
    {
        using var folder = new TempFolder("opset");
        var model = TinyGptBuilder.Build(Small);
        model.OpsetImport[0].Version = 9;
        var e = ImportFails(folder, WriteModel(folder, model));
        Assert.That(e.Reason, Is.EqualTo(OnnxError.Unsupported));
        Assert.That(e.Message, Does.Contain("opset 9"));
    }

    [Test]
    public void MissingSource_IsUnreadable()
    {
        using var folder = new TempFolder("missing");
        var e = ImportFails(folder, folder.File("nowhere"));
        Assert.That(e.Reason, Is.EqualTo(OnnxError.Unreadable));
        Assert.That(e.Message, Does.Contain("nowhere"));
    }
}
