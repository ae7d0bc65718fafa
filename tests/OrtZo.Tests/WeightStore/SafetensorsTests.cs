using System.Text;
using NUnit.Framework;
using OrtZo.WeightStore;

namespace OrtZo.Tests.WeightStore;

public class SafetensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-st-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void RoundTripKeepsBytesShapesAndMetadata()
    {
        var a = new TensorSpec("a", DType.F32, [2, 3]);
        var b = new TensorSpec("b.bias", DType.F16, [5]);
        var c = new TensorSpec("scalar", DType.I64, []);
        var empty = new TensorSpec("empty", DType.BF16, [0, 4]);
        var rnd = new Random(7);
        byte[] aBytes = new byte[a.ByteLength], bBytes = new byte[b.ByteLength], cBytes = new byte[c.ByteLength];
        rnd.NextBytes(aBytes); rnd.NextBytes(bBytes); rnd.NextBytes(cBytes);
        string path = Path.Combine(_dir, "w.safetensors");
        SafetensorsWriter.Write(path,
            [TensorSource.FromBytes(a, aBytes), TensorSource.FromBytes(b, bBytes), TensorSource.FromBytes(c, cBytes), TensorSource.FromBytes(empty, [])],
            new Dictionary<string, string> { ["format"] = "pt", ["step"] = "12" });

        using var f = SafetensorsFile.Open(path);
        Assert.That(f.Tensors.Select(t => t.Spec.Name), Is.EqualTo(new[] { "a", "b.bias", "scalar", "empty" }));
        Assert.That(f.GetBytes("a").ToArray(), Is.EqualTo(aBytes));
        Assert.That(f.GetBytes("b.bias").ToArray(), Is.EqualTo(bBytes));
        Assert.That(f.GetBytes("scalar").ToArray(), Is.EqualTo(cBytes));
        Assert.That(f.Get("empty").Spec.Shape, Is.EqualTo(new long[] { 0, 4 }));
        Assert.That(f.Get("scalar").Spec.Shape, Is.Empty);
        Assert.That(f.Metadata["step"], Is.EqualTo("12"));
        Assert.That(f.Get("b.bias").Spec.DType, Is.EqualTo(DType.F16));
    }

    [Test]
    public void HeaderIsByteExactAndPaddedToEightBytes()
    {
        var spec = new TensorSpec("w", DType.F32, [2]);
        byte[] header = SafetensorsWriter.BuildHeader([TensorSource.FromBytes(spec, new byte[8])], null);
        string json = Encoding.UTF8.GetString(header);
        Assert.That(json, Is.EqualTo("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}".PadRight(56)));
        Assert.That(header.Length % 8, Is.Zero);
    }

    [Test]
    public void ReadsAFileWrittenByTheReferenceLayout()
    {
        // Hand-assembled per the format's spec: u64 header length, JSON, data.
        string json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"k\":\"v\"}}";
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes((ulong)json.Length));
        bytes.AddRange(Encoding.UTF8.GetBytes(json));
        bytes.AddRange(BitConverter.GetBytes(1.5f));
        bytes.AddRange(BitConverter.GetBytes(-2f));
        string path = Path.Combine(_dir, "ref.safetensors");
        File.WriteAllBytes(path, bytes.ToArray());
        using var f = SafetensorsFile.Open(path);
        Assert.That(f.ReadAsFloat32("x"), Is.EqualTo(new[] { 1.5f, -2f }));
        Assert.That(f.Metadata["k"], Is.EqualTo("v"));
    }

    private string WriteRaw(string json, int dataBytes, ulong? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes(declaredLength ?? (ulong)h.Length));
        bytes.AddRange(h);
        bytes.AddRange(new byte[dataBytes]);
        string path = Path.Combine(_dir, $"bad-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    private static WeightStoreError OpenError(string path)
    {
        var e = Assert.Throws<OrtZoException>(() => SafetensorsFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain(path), "the message names the file");
        return (WeightStoreError)e.Reason;
    }

    [Test]
    public void HeaderTooSmall()
    {
        string path = Path.Combine(_dir, "tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(OpenError(path), Is.EqualTo(WeightStoreError.HeaderTooSmall));
    }

    [Test]
    public void HeaderTooLarge()
    {
        Assert.That(OpenError(WriteRaw("{}", 0, declaredLength: 1_000_000_000)), Is.EqualTo(WeightStoreError.HeaderTooLarge));
        Assert.That(OpenError(WriteRaw("{}", 0, declaredLength: 50)), Is.EqualTo(WeightStoreError.HeaderTooLarge));
    }

    [Test]
    public void InvalidHeader()
    {
        Assert.That(OpenError(WriteRaw("{not json", 0)), Is.EqualTo(WeightStoreError.InvalidHeader));
        Assert.That(OpenError(WriteRaw("[1,2]", 0)), Is.EqualTo(WeightStoreError.InvalidHeader));
        Assert.That(OpenError(WriteRaw("{\"__metadata__\":{\"k\":1}}", 0)), Is.EqualTo(WeightStoreError.InvalidHeader));
    }

    [Test]
    public void InvalidTensorEntry()
    {
        Assert.That(OpenError(WriteRaw("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4)), Is.EqualTo(WeightStoreError.InvalidTensorEntry));
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)), Is.EqualTo(WeightStoreError.InvalidTensorEntry));
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4)), Is.EqualTo(WeightStoreError.InvalidTensorEntry));
    }

    [Test]
    public void UnknownDType() =>
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1)), Is.EqualTo(WeightStoreError.UnknownDType));

    [Test]
    public void InvalidOffset()
    {
        // a hole between tensors
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"y\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}", 3)),
            Is.EqualTo(WeightStoreError.InvalidOffset));
        // overlap
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"y\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3)),
            Is.EqualTo(WeightStoreError.InvalidOffset));
        // end before begin
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,1]}}", 2)), Is.EqualTo(WeightStoreError.InvalidOffset));
    }

    [Test]
    public void ShapeMismatch() =>
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4)), Is.EqualTo(WeightStoreError.ShapeMismatch));

    [Test]
    public void IncompleteBuffer()
    {
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4)), Is.EqualTo(WeightStoreError.IncompleteBuffer));
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12)), Is.EqualTo(WeightStoreError.IncompleteBuffer));
    }

    [Test]
    public void ValidationOverflow() =>
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0)), Is.EqualTo(WeightStoreError.ValidationOverflow));

    [Test]
    public void DuplicateTensor() =>
        Assert.That(OpenError(WriteRaw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2)), Is.EqualTo(WeightStoreError.DuplicateTensor));

    [Test]
    public void MissingTensorNamesTheTensor()
    {
        string path = Path.Combine(_dir, "m.safetensors");
        SafetensorsWriter.Write(path, [TensorSource.FromFloats(new TensorSpec("a", DType.F32, [1]), [1f])]);
        using var f = SafetensorsFile.Open(path);
        var e = Assert.Throws<OrtZoException>(() => f.Get("nope"))!;
        Assert.That(e.Reason, Is.EqualTo(WeightStoreError.MissingTensor));
        Assert.That(e.Message, Does.Contain("'nope'"));
    }

    [Test]
    public void RandomBytesOnlyEverRaiseWeightStoreErrors()
    {
        var rnd = new Random(12345);
        string path = Path.Combine(_dir, "fuzz.safetensors");
        string valid = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[16,19]}}";
        for (int i = 0; i < 400; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[rnd.Next(0, 200)];
                rnd.NextBytes(bytes);
                if (bytes.Length >= 8 && i % 4 == 0) BitConverter.GetBytes((ulong)rnd.Next(0, bytes.Length)).CopyTo(bytes, 0);
            }
            else
            {
                // mutate a valid file at a few positions so most runs reach the JSON and offset checks
                var ok = new List<byte>(BitConverter.GetBytes((ulong)valid.Length));
                ok.AddRange(Encoding.UTF8.GetBytes(valid));
                ok.AddRange(new byte[19]);
                bytes = ok.ToArray();
                for (int k = rnd.Next(1, 4); k > 0; k--) bytes[rnd.Next(8, bytes.Length)] = (byte)rnd.Next(32, 127);
            }
            File.WriteAllBytes(path, bytes);
            try
            {
                using var f = SafetensorsFile.Open(path);
                foreach (var t in f.Tensors) _ = f.GetBytes(t).Length;
            }
            catch (OrtZoException e) when (e.Kind == OrtZoErrorKind.InvalidWeights)
            {
            }
        }
        Assert.Pass("400 corrupted files raised only OrtZoException (invalid weights)");
    }

    [Test]
    public void FailedWriteLeavesThePreviousFileIntact()
    {
        string path = Path.Combine(_dir, "keep.safetensors");
        SafetensorsWriter.Write(path, [TensorSource.FromFloats(new TensorSpec("a", DType.F32, [2]), [1f, 2f])]);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<InvalidOperationException>(() =>
            SafetensorsWriter.Write(path, [new ThrowingSource(new TensorSpec("a", DType.F32, [1000]))]));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temporary file is left behind");
    }

    private sealed class ThrowingSource(TensorSpec spec) : TensorSource(spec)
    {
        public override void WriteTo(Stream destination)
        {
            destination.Write(new byte[100]);
            throw new InvalidOperationException("disk went away");
        }
    }
}
