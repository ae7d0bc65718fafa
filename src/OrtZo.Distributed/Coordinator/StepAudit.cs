using OrtZo.Engine;

namespace OrtZo.Distributed.Coordinator;

/// <summary>
/// The seeds and projected gradients of a committed step, derived from its probe losses the way ZoStep
/// derives them. They are written to the log for people and tools to read; replay needs only the losses.
/// </summary>
internal static class StepAudit
{
    public static (ulong[] Seeds, double[] Gradients) Derive(ZoOptions o, long step, IReadOnlyList<double> losses)
    {
        double eps = (float)o.Epsilon;   // ZoStep holds ε as float
        ulong Seed(int j) => ZoNoise.StepSeed(o.Seed, step, j);
        if (o.Optimizer == ZoOptimizer.ZoConservative)
            return ([Seed(0)], losses.Count >= 3 ? [(losses[1] - losses[2]) / (2.0 * eps)] : []);
        if (o.OnePoint && o.BlockWise == BlockWiseMode.Off)
        {
            int q = losses.Count - 1;
            return (Enumerable.Range(0, q).Select(Seed).ToArray(), Enumerable.Range(0, q).Select(j => (losses[1 + j] - losses[0]) / eps).ToArray());
        }
        int pairs = losses.Count / 2;   // two-point queries, or blocks of block-wise ZO
        return (Enumerable.Range(0, pairs).Select(Seed).ToArray(),
            Enumerable.Range(0, pairs).Select(j => (losses[2 * j] - losses[2 * j + 1]) / (2.0 * eps)).ToArray());
    }
}
