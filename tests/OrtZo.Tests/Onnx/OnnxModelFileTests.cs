using OrtZo.Tools;
using Google.Protobuf;
using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Tests.Onnx;

public class OnnxModelFileTests
{
    private static readonly TinyGptConfig Small = new() { ModelDim = 64, Layers = 1, Heads = 2, VocabSize = 48, MaxLength = 16 };

    [Test]
    public void ExternalData_RoundTripsEveryTensor_AtAlignedOffsets()
    {
        using var folder = new TempFolder("ext");
        string inline = folder.File("inline.onnx"), external = folder.File("external.onnx");
        TinyGptBuilder.Write(Small, inline, externalData: false);
        TinyGptBuilder.Write(Small, external, externalData: true);

        using var a = OnnxModelFile.Load(inline);
        using var b = OnnxModelFile.Load(external);
        Assert.That(b.Graph.Initializer.Select(t => t.Name), Is.EqualTo(a.Graph.Initializer.Select(t => t.Name)));
        int moved = 0;
        foreach (var (x, y) in a.Graph.Initializer.Zip(b.Graph.Initializer))
        {
            Assert.That(b.ReadBytes(y), Is.EqualTo(a.ReadBytes(x)), x.Name);
            if (!TensorData.IsExternal(y)) continue;
            moved++;
            long offset = long.Parse(y.ExternalData.Single(e => e.Key == "offset").Value);
            Assert.That(offset % OnnxModelWriter.ExternalDataAlignment, Is.Zero, $"offset of {y.Name}");
            Assert.That(y.ExternalData.Single(e => e.Key == "location").Value, Is.EqualTo("external.onnx.data"));
            Assert.That(y.HasRawData, Is.False);
        }
        Assert.That(moved, Is.EqualTo(a.Graph.Initializer.Count(t => t.RawData.Length >= OnnxModelWriter.DefaultExternalThreshold)));
        Assert.That(new FileInfo(external).Length, Is.LessThan(new FileInfo(inline).Length / 4), "the graph file holds no weights");

        long[] ids = [3, 1, 4, 1, 5, 9];
        Assert.That(ReferenceScoring.Logits(external, ids, 1, 6, null), Is.EqualTo(ReferenceScoring.Logits(inline, ids, 1, 6, null)),
            "ORT reads the external file to the same model");
    }

    [Test]
    public void TypedFields_AreReadLikeRawData()
    {
        var floats = new TensorProto { Name = "f", DataType = OnnxElementType.Float, Dims = { 3 }, FloatData = { 1.5f, -2f, 3.25f } };
        Assert.That(TensorData.ReadFloats(floats, null, null), Is.EqualTo(new[] { 1.5f, -2f, 3.25f }));

        var half = new TensorProto { Name = "h", DataType = OnnxElementType.Float16, Dims = { 2 } };
        half.Int32Data.Add(BitConverter.HalfToUInt16Bits((Half)0.5f));
        half.Int32Data.Add(BitConverter.HalfToUInt16Bits((Half)(-8f)));
        Assert.That(TensorData.ReadFloats(half, null, null), Is.EqualTo(new[] { 0.5f, -8f }));
        Assert.That(TensorData.ReadBytes(half, null, null), Has.Length.EqualTo(4), "fp16 is 2 bytes per element, not 4 as in int32_data");

        var bf16 = new TensorProto { Name = "b", DataType = OnnxElementType.BFloat16, Dims = { 1 }, Int32Data = { 0x3FC0 } };
        Assert.That(TensorData.ReadFloats(bf16, null, null), Is.EqualTo(new[] { 1.5f }));

        var longs = new TensorProto { Name = "i", DataType = OnnxElementType.Int64, Dims = { 2 }, Int64Data = { -7, long.MaxValue } };
        Assert.That(TensorData.ReadInt64s(longs, null, null), Is.EqualTo(new[] { -7L, long.MaxValue }));

        var doubles = new TensorProto { Name = "d", DataType = OnnxElementType.Double, Dims = { 2 }, DoubleData = { 0.25, 1e10 } };
        Assert.That(TensorData.ReadFloats(doubles, null, null), Is.EqualTo(new[] { 0.25f, 1e10f }));

        var int32 = new TensorProto { Name = "n", DataType = OnnxElementType.Int32, Dims = { 2 }, Int32Data = { -1, 42 } };
        Assert.That(TensorData.ReadInt64s(int32, null, null), Is.EqualTo(new[] { -1L, 42L }));
    }

    [Test]
    public void RawData_OfTheWrongLength_NamesTheTensor()
    {
        var bad = new TensorProto { Name = "w", DataType = OnnxElementType.Float, Dims = { 4 }, RawData = ByteString.CopyFrom(new byte[12]) };
        var e = Assert.Throws<OrtZoException>(() => TensorData.ReadBytes(bad, null, "m.onnx"))!;
        Assert.That(e.Reason, Is.EqualTo(OnnxError.InvalidTensor));
        Assert.That(e.Message, Does.Contain("m.onnx").And.Contain("tensor 'w'").And.Contain("12 bytes").And.Contain("needs 16"));

        var missing = new TensorProto { Name = "v", DataType = OnnxElementType.Float, Dims = { 2 }, FloatData = { 1f } };
        e = Assert.Throws<OrtZoException>(() => TensorData.ReadBytes(missing, null, "m.onnx"))!;
        Assert.That(e.Message, Does.Contain("tensor 'v'").And.Contain("float_data has 1 entries").And.Contain("needs 2"));
    }

    [Test]
    public void ExternalData_ShorterThanDeclared_NamesFileAndTensor()
    {
        using var folder = new TempFolder("short");
        string path = folder.File("model.onnx");
        TinyGptBuilder.Write(Small, path, externalData: true);
        string data = path + ".data";
        using (var stream = new FileStream(data, FileMode.Open)) stream.SetLength(stream.Length - 100);
        using var model = OnnxModelFile.Load(path);
        var last = model.Graph.Initializer.Last(TensorData.IsExternal);
        var e = Assert.Throws<OrtZoException>(() => model.ReadBytes(last))!;
        Assert.That(e.Reason, Is.EqualTo(OnnxError.InvalidExternalData));
        Assert.That(e.Message, Does.Contain(data).And.Contain($"tensor '{last.Name}'").And.Contain("bytes"));
    }

    [Test]
    public void ExternalData_OutsideTheModelFolder_IsRefused()
    {
        using var folder = new TempFolder("escape");
        var tensor = new TensorProto { Name = "w", DataType = OnnxElementType.Float, Dims = { 1 }, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../etc/passwd" });
        using var files = new ExternalDataFiles(folder.File("model.onnx"));
        var e = Assert.Throws<OrtZoException>(() => files.Describe(tensor))!;
        Assert.That(e.Message, Does.Contain("outside the model's directory"));

        tensor.ExternalData[0].Value = "/etc/passwd";
        Assert.That(Assert.Throws<OrtZoException>(() => files.Describe(tensor))!.Message, Does.Contain("absolute"));
    }

    [Test]
    public void Garbage_IsNotAModel()
    {
        using var folder = new TempFolder("garbage");
        string path = folder.File("model.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        var e = Assert.Throws<OrtZoException>(() => OnnxModelFile.Load(path))!;
        Assert.That(e.Reason, Is.EqualTo(OnnxError.Unreadable));
        Assert.That(e.Message, Does.Contain(path));
    }
}
