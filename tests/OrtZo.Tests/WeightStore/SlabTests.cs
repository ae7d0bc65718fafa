using NUnit.Framework;
using OrtZo.WeightStore;

namespace OrtZo.Tests.WeightStore;

public class SlabTests
{
    [Test]
    public void LayoutAlignsBytesTo256AndCountersTo64()
    {
        var layout = SlabLayout.Create([
            new TensorSpec("a", DType.F32, [3]),
            new TensorSpec("b", DType.F16, [100]),
            new TensorSpec("c", DType.BF16, [7, 9]),
        ]);
        Assert.That(layout.Slots.Select(s => s.ByteOffset), Is.EqualTo(new long[] { 0, 256, 512 }));
        Assert.That(layout.Slots.Select(s => s.CounterBase), Is.EqualTo(new long[] { 0, 64, 192 }));
        Assert.That(layout.CounterLength, Is.EqualTo(256));
        Assert.That(layout.ByteLength % 256, Is.Zero);
        Assert.That(layout.ElementCount, Is.EqualTo(3 + 100 + 63));
    }

    [Test]
    public void CounterBasesDoNotDependOnDType()
    {
        var specs32 = new[] { new TensorSpec("a", DType.F32, [130]), new TensorSpec("b", DType.F32, [5, 5]) };
        var specs16 = specs32.Select(s => new TensorSpec(s.Name, DType.F16, s.Shape)).ToArray();
        Assert.That(SlabLayout.Create(specs16).Slots.Select(s => s.CounterBase),
            Is.EqualTo(SlabLayout.Create(specs32).Slots.Select(s => s.CounterBase)));
    }

    [Test]
    public void RejectsNonFloatAndDuplicateTensors()
    {
        Assert.That(Assert.Throws<OrtZoException>(() => SlabLayout.Create([new TensorSpec("i", DType.I64, [2])]))!.Reason,
            Is.EqualTo(WeightStoreError.UnsupportedDType));
        Assert.That(Assert.Throws<OrtZoException>(() => SlabLayout.Create([new TensorSpec("a", DType.F32, [2]), new TensorSpec("a", DType.F32, [2])]))!.Reason,
            Is.EqualTo(WeightStoreError.DuplicateTensor));
    }

    [Test]
    public unsafe void SlabIsAlignedAndRoundTripsThroughSafetensors()
    {
        string dir = Directory.CreateTempSubdirectory("ortzo-slab-").FullName;
        try
        {
            var layout = SlabLayout.Create([new TensorSpec("w", DType.F32, [4, 3]), new TensorSpec("n", DType.BF16, [5]), new TensorSpec("h", DType.F16, [2])]);
            using var slab = CpuSlab.Allocate(layout);
            Assert.That((long)slab.BasePointer % 64, Is.Zero);
            foreach (var s in layout.Slots) Assert.That((long)slab.Pointer(s.Index) % 256, Is.Zero);
            slab.WriteFloat32(0, Enumerable.Range(0, 12).Select(i => i * 0.25f - 1).ToArray());
            slab.WriteFloat32(1, [1f, -2f, 0.1f, 3e-3f, 65504f]);
            slab.WriteFloat32(2, [0.5f, -0.125f]);
            string path = Path.Combine(dir, "w.safetensors");
            slab.Save(path);
            using var file = SafetensorsFile.Open(path);
            using var again = CpuSlab.Load(layout, file);
            Assert.That(again.ContentEquals(slab), Is.True);
            Assert.That(again.ReadFloat32(0)[5], Is.EqualTo(0.25f));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void LoadChecksShapeAndDTypeAndConvertsOnlyWhenAsked()
    {
        string dir = Directory.CreateTempSubdirectory("ortzo-slab-").FullName;
        try
        {
            string path = Path.Combine(dir, "w.safetensors");
            SafetensorsWriter.Write(path, [TensorSource.FromFloats(new TensorSpec("w", DType.F32, [2]), [1.5f, 1f / 3f])]);
            using var file = SafetensorsFile.Open(path);
            var wrongShape = SlabLayout.Create([new TensorSpec("w", DType.F32, [3])]);
            Assert.That(Assert.Throws<OrtZoException>(() => CpuSlab.Load(wrongShape, file))!.Reason, Is.EqualTo(WeightStoreError.ShapeMismatch));
            var half = SlabLayout.Create([new TensorSpec("w", DType.F16, [2])]);
            Assert.That(Assert.Throws<OrtZoException>(() => CpuSlab.Load(half, file))!.Reason, Is.EqualTo(WeightStoreError.DTypeMismatch));
            using var converted = CpuSlab.Load(half, file, convert: true);
            Assert.That(converted.ReadFloat32(0), Is.EqualTo(new[] { 1.5f, (float)(Half)(1f / 3f) }));
        }
        finally { Directory.Delete(dir, true); }
    }
}
