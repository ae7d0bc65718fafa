using NUnit.Framework;
using OrtZo.Distributed.Coordinator;
using OrtZo.Distributed.Journal;
using OrtZo.Distributed.Protocol;

namespace OrtZo.Tests.Distributed;

/// <summary>The file journal: exact doubles, the expected-version fence, a torn last line ignored.</summary>
public class JournalTests
{
    [Test]
    public async Task FileJournalRoundTripsAndFencesStaleWriters()
    {
        var dir = Directory.CreateTempSubdirectory("ortzo-journal-");
        try
        {
            var a = new FileRunJournal(dir.FullName);
            var b = new FileRunJournal(dir.FullName);   // a second coordinator activation, e.g. in another process
            double awkward = 0.1 + 0.2;
            Assert.That(await a.AppendAsync("run", [RunEvent.Reported(new LossReport("w", 0, 0, 1, awkward))], 0), Is.True);
            Assert.That(await b.AppendAsync("run", [RunEvent.Committed(0)], 0), Is.False, "b's view is stale");
            Assert.That(await b.AppendAsync("run", [RunEvent.Committed(0), RunEvent.Dropped(1, 2)], 1), Is.True);
            Assert.That(await a.AppendAsync("run", [RunEvent.Committed(1)], 1), Is.False, "a's cached length no longer matches");
            var events = await a.ReadAsync("run");
            Assert.That(events.Select(e => e.Kind), Is.EqualTo(new[] { RunEventKind.LossReported, RunEventKind.StepCommitted, RunEventKind.QueryDropped }));
            Assert.That(events[0].Loss, Is.EqualTo(awkward), "losses round-trip exactly");
            Assert.That(events[0].Worker, Is.EqualTo("w"));

            File.AppendAllText(a.PathOf("run"), "{\"kind\":\"step-comm");   // a crash in the middle of a write
            Assert.That(await a.ReadAsync("run"), Has.Count.EqualTo(3));
            Assert.That(await a.AppendAsync("run", [RunEvent.Committed(1)], 3), Is.True);
            Assert.That(await b.ReadAsync("run"), Has.Count.EqualTo(4));
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
