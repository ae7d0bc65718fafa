using NUnit.Framework;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

public class WeightBuffersTests
{
    [Test]
    public void TensorsSharingOptimizerStateAreRejected()
    {
        // Chunks of different tensors run on different threads: shared Adam moments would be a data race.
        using var slab = CpuSlab.Allocate(SlabLayout.Create([new TensorSpec("a", DType.F32, [100]), new TensorSpec("b", DType.F32, [50])]));
        TrainableTensor T(int slot, long stateBase) => new() { Slot = slab.Layout.Slots[slot], Mask = MaskKind.Dense, Group = "g", StateBase = stateBase };

        var e = Assert.Throws<ArgumentException>(() => new WeightBuffers(slab, [T(0, 0), T(1, 99)], 2));
        Assert.That(e!.Message, Does.Contain("'a'").And.Contain("'b'").And.Contain("overlap"));

        using var ok = new WeightBuffers(slab, [T(0, 0), T(1, 100)], 2);
        Assert.That(ok.StateLength, Is.EqualTo(150));
        using var frozenShares = new WeightBuffers(slab, [T(0, 0), new TrainableTensor { Slot = slab.Layout.Slots[1], Mask = MaskKind.Frozen, Group = "g" }], 2);
        Assert.That(frozenShares.StateLength, Is.EqualTo(100), "frozen tensors hold no state");
    }
}
