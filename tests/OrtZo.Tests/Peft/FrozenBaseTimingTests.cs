using System.Diagnostics;
using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>
/// Forward time of PEFT graphs with the frozen base weights as constant initializers (ORT prepacks the matrices) or
/// as variable graph inputs holding their values, on the shipped model. A measurement, not a check: run it on an
/// idle machine with <c>dotnet test --filter FrozenBaseTiming</c>; the figures are in src/OrtZo/Peft/README.md.
/// </summary>
[Explicit("timing; run on an idle machine")]
public class FrozenBaseTimingTests
{
    [TestCase(1)]
    [TestCase(2)]
    public void ForwardTimeByFrozenBaseMode(int threads)
    {
        using var cache = new TempFolder("peft-timing");
        foreach (int batch in new[] { 16, 32 })
        {
            var rows = PeftFixtures.RandomRows(batch, 64, 512, seed: 1);
            foreach (var scheme in new[] { PeftScheme.Full, PeftScheme.Lora, PeftScheme.Prefix, PeftScheme.Prompt })
            {
                // Full fine-tuning binds every weight from the slab: the "inputs" column is its own baseline.
                using var inputs = ZoModel.Open(TestPaths.Stories260k, threads: threads,
                    peft: scheme == PeftScheme.Full ? null : new PeftOptions { Scheme = scheme, FrozenBase = FrozenBase.Inputs, CacheFolder = cache.Path });
                using var initializers = scheme == PeftScheme.Full ? null : ZoModel.Open(TestPaths.Stories260k, threads: threads,
                    peft: new PeftOptions { Scheme = scheme, FrozenBase = FrozenBase.Initializers, CacheFolder = cache.Path });
                var (a, b) = TimeInterleaved(inputs, initializers, rows);
                TestContext.Out.WriteLine($"threads {threads}, batch {batch,2} × 64, {scheme,-6}: inputs {a,6:F2} ms" +
                                          (initializers is null ? "" : $", initializers {b,6:F2} ms ({(b - a) / a,6:P1})"));
            }
        }
    }

    /// <summary>The same on a GPT-2-style model of 11M parameters (d 384, 6 layers), where the matrices dominate the forward.</summary>
    [TestCase(2)]
    public void ForwardTimeByFrozenBaseModeOnALargerModel(int threads)
    {
        using var temp = new TempFolder("peft-timing-gpt");
        string folder = PeftFixtures.TinyGpt(temp.Path, new TinyGptConfig { VocabSize = 512, ModelDim = 384, Layers = 6, Heads = 6, MaxLength = 128, Seed = 7 });
        foreach (int batch in new[] { 16, 32 })
        {
            var rows = PeftFixtures.RandomRows(batch, 64, 512, seed: 1);
            foreach (var scheme in new[] { PeftScheme.Lora, PeftScheme.Prefix })
            {
                using var inputs = ZoModel.Open(folder, threads: threads, peft: new PeftOptions { Scheme = scheme, FrozenBase = FrozenBase.Inputs, CacheFolder = temp.Path });
                using var initializers = ZoModel.Open(folder, threads: threads, peft: new PeftOptions { Scheme = scheme, FrozenBase = FrozenBase.Initializers, CacheFolder = temp.Path });
                var (a, b) = TimeInterleaved(inputs, initializers, rows, rounds: 9, forwards: 3);
                TestContext.Out.WriteLine($"gpt 11M, threads {threads}, batch {batch,2} × 64, {scheme,-6}: inputs {a,6:F2} ms, initializers {b,6:F2} ms ({(b - a) / a,6:P1})");
            }
        }
    }

    /// <summary>Medians over rounds of a few forwards each, the two models alternating round by round so drift hits both.</summary>
    private static (double A, double B) TimeInterleaved(ZoModel a, ZoModel? b, long[][] rows, int rounds = 21, int forwards = 10)
    {
        var sessions = new[] { a, b }.Where(m => m is not null).Select(m =>
        {
            PeftFixtures.Scores(m!, rows);
            return m!.Session(rows.Length, rows[0].Length);
        }).ToList();
        var times = sessions.Select(_ => new List<double>()).ToList();
        for (int r = 0; r < rounds + 2; r++)
            for (int s = 0; s < sessions.Count; s++)
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < forwards; i++) sessions[s].Run(rows.Length, rows[0].Length);
                if (r >= 2) times[s].Add(clock.Elapsed.TotalMilliseconds / forwards);   // the first two rounds warm up
            }
        double Median(List<double> x) => x.Order().ElementAt(x.Count / 2);
        return (Median(times[0]), sessions.Count > 1 ? Median(times[1]) : double.NaN);
    }
}
