using System.Diagnostics;
using System.Text.Json.Nodes;
using OrtZo.Peft;
using OrtZo.Onnx.Peft;

namespace OrtZo.Bench;

/// <summary>
/// Forward time of a PEFT graph with the frozen base weights as constant initializers (ORT may prepack them) or as
/// graph inputs holding the same values (variables to ORT). The two sessions alternate round by round, so load
/// from other jobs on the machine hits both alike; medians of the rounds.
/// </summary>
internal static class PeftForwardBench
{
    public static JsonObject Measure(Options o)
    {
        var scheme = Enum.Parse<PeftScheme>(o.Scheme, ignoreCase: true);
        string cache = Path.Combine(Options.FindRoot(), "bench", ".models", "peft-cache");
        PeftOptions Mode(FrozenBase f) => new() { Scheme = scheme, FrozenBase = f, CacheFolder = cache };
        using var inputs = ZoModel.Open(o.Model, peft: Mode(FrozenBase.Inputs));
        using var initializers = ZoModel.Open(o.Model, peft: Mode(FrozenBase.Initializers));
        int seq = Math.Min(o.Seq, inputs.MaxLength);
        var a = new RandomBatch(inputs, o.Batch, seq, inputs.Folder.Manifest.VocabSize);
        var b = new RandomBatch(initializers, o.Batch, seq, initializers.Folder.Manifest.VocabSize);
        var (msInputs, msInitializers) = Interleaved(a.Forward, b.Forward, rounds: 15, forwards: Math.Max(2, 64 / o.Batch));
        return new JsonObject
        {
            ["model"] = Path.GetFileName(o.Model.TrimEnd('/')),
            ["base_params"] = inputs.BaseParameterCount,
            ["adapter_params"] = inputs.ParameterCount,
            ["scheme"] = o.Scheme,
            ["batch"] = o.Batch,
            ["seq"] = seq,
            ["inputs_ms"] = msInputs,
            ["initializers_ms"] = msInitializers,
            ["initializers_change"] = (msInitializers - msInputs) / msInputs,
            ["peak_rss_mb"] = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
        };
    }

    private static (double A, double B) Interleaved(Action a, Action b, int rounds, int forwards)
    {
        var ta = new List<double>();
        var tb = new List<double>();
        for (int r = 0; r < rounds + 2; r++)
        {
            foreach (var (run, times) in new[] { (a, ta), (b, tb) })
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < forwards; i++) run();
                if (r >= 2) times.Add(clock.Elapsed.TotalMilliseconds / forwards);   // two rounds of warm-up
            }
        }
        static double Median(List<double> x) => x.Order().ElementAt(x.Count / 2);
        return (Median(ta), Median(tb));
    }
}
