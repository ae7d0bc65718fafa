using NUnit.Framework;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

public class KernelThreadsTests
{
    [Test]
    public void EveryItemRunsExactlyOnce()
    {
        using var pool = new KernelThreads(3);
        foreach (int count in new[] { 0, 1, 2, 5, 1000 })
        {
            var hits = new int[count];
            var workers = new int[pool.Count];
            pool.For(count, (i, w) => { Interlocked.Increment(ref hits[i]); Interlocked.Increment(ref workers[w]); });
            Assert.That(hits, Is.All.EqualTo(1));
            Assert.That(workers.Sum(), Is.EqualTo(count));
        }
    }

    [Test]
    public void AFailingItemSurfacesAndThePoolStaysUsable()
    {
        using var pool = new KernelThreads(2);
        var e = Assert.Throws<AggregateException>(() => pool.For(100, (i, _) => { if (i == 37) throw new InvalidOperationException("boom"); }))!;
        Assert.That(e.InnerException, Is.InstanceOf<InvalidOperationException>());
        int total = 0;
        pool.For(10, (_, _) => Interlocked.Increment(ref total));
        Assert.That(total, Is.EqualTo(10));
    }
}
