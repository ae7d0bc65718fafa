using System.Text.Json.Nodes;
using OrtZo.Tools;
using OrtZo.WeightStore;

namespace OrtZo.Bench;

/// <summary>Perturb/restore drift with lr = 0 after 1,000 steps, per dtype: OrtZo's step against MeZO's loop.</summary>
internal static class DriftBench
{
    public static JsonObject Measure(Options o)
    {
        var w = DriftMeasurement.TypicalWeights(200_000, 5);
        var rows = new JsonArray();
        foreach (var dtype in new[] { DType.F32, DType.F16, DType.BF16 })
        {
            var ours = DriftMeasurement.OrtZo(dtype, w, 1000, 1e-3f);
            var mezo = DriftMeasurement.MezoLoop(dtype, w, 1000, 1e-3f);
            Console.WriteLine($"drift    {dtype,-5} 1000 steps, lr 0, ε 1e-3, 200k weights: OrtZo {ours.ChangedFraction:P1} changed, mean {ours.MeanUlps:F2} ulp, rms {ours.RmsUlps:F1}, max {ours.MaxUlps} | " +
                              $"MeZO loop {mezo.ChangedFraction:P1} changed, mean {mezo.MeanUlps:F2} ulp, rms {mezo.RmsUlps:F1}, max {mezo.MaxUlps} | mean ratio {mezo.MeanUlps / ours.MeanUlps:F1}×");
            rows.Add(new JsonObject
            {
                ["dtype"] = dtype.ToShortName(),
                ["ortzo_changed"] = ours.ChangedFraction, ["ortzo_mean_ulps"] = ours.MeanUlps, ["ortzo_rms_ulps"] = ours.RmsUlps, ["ortzo_max_ulps"] = ours.MaxUlps,
                ["mezo_changed"] = mezo.ChangedFraction, ["mezo_mean_ulps"] = mezo.MeanUlps, ["mezo_rms_ulps"] = mezo.RmsUlps, ["mezo_max_ulps"] = mezo.MaxUlps,
            });
        }
        return new JsonObject { ["steps"] = 1000, ["epsilon"] = 1e-3, ["weights"] = 200_000, ["dtypes"] = rows };
    }
}
