using NUnit.Framework;
using OrtZo.Cli.Sweep;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Cli;

public class HalvingPlanTests
{
    /// <summary>Steps of a successive-halving bracket counted by simulating it trial by trial (each trial resumed).</summary>
    private static long SimulatedSteps(IReadOnlyList<Rung> rungs)
    {
        var reached = new long[rungs[0].Trials];
        int alive = rungs[0].Trials;
        long spent = 0;
        foreach (var rung in rungs)
        {
            for (int t = 0; t < alive; t++)
            {
                spent += rung.Steps - reached[t];
                reached[t] = rung.Steps;
            }
            alive = rung.Promoted;
        }
        return spent;
    }

    [Test]
    public void NineRatesWithEtaThreeSpendAThirdOfASevenPointGrid()
    {
        var rungs = HalvingPlan.Rungs(9, 2, 200, 3);
        Assert.That(rungs, Is.EqualTo(new[] { new Rung(22, 9, 3), new Rung(67, 3, 1), new Rung(200, 1, 0) }));
        Assert.That(HalvingPlan.CostInSteps(rungs), Is.EqualTo(9 * 22 + 3 * 45 + 133));
        Assert.That(HalvingPlan.CostInSteps(rungs), Is.LessThanOrEqualTo(7 * 200 / 3));
    }

    [Test]
    public void ARangeGetsTheMostPointsThatFitTheBudget()
    {
        var lr = SearchSpace.Parse("1e-5:1e-3", "--lr");
        var eps = SearchSpace.Single("--eps", 1e-3);
        foreach (long budget in new long[] { 200, 466, 700, 1400, 5000 })
        {
            var plan = HalvingPlan.Create(lr, eps, 200, 3, 10, 1, budget, null);
            var bracket = plan.Single();
            Assert.That(SimulatedSteps(bracket.Rungs), Is.EqualTo(bracket.Steps).And.LessThanOrEqualTo(budget), $"budget {budget}");
            // No larger number of configurations fits (checked by brute force with the same rung rule).
            for (int n = bracket.Configs.Count + 1; n <= 400; n++)
            {
                int k = Math.Min((int)Math.Floor(Math.Log(n) / Math.Log(3) + 1e-9), (int)Math.Floor(Math.Log(200 / 10.0) / Math.Log(3) + 1e-9));
                Assert.That(SimulatedSteps(HalvingPlan.Rungs(n, k, 200, 3)), Is.GreaterThan(budget), $"budget {budget}: {n} configurations would fit");
            }
            if (bracket.Configs.Count == 1)
                Assert.That(bracket.Configs[0].Lr, Is.EqualTo(1e-4), "one point: the range's geometric middle");
            else
                Assert.That((bracket.Configs[0].Lr, bracket.Configs[^1].Lr), Is.EqualTo((1e-5, 1e-3)), "both ends are tried");
            Assert.That(bracket.Rungs[^1].Steps, Is.EqualTo(200));
            Assert.That(bracket.Rungs[0].Steps, Is.GreaterThanOrEqualTo(10));
        }
    }

    [Test]
    public void LogRangePointsAreEvenlySpacedInLogarithm()
    {
        var points = SearchSpace.Parse("1e-6:1e-2", "--lr").Points(5);
        Assert.That(points, Is.EqualTo(new[] { 1e-6, 1e-5, 1e-4, 1e-3, 1e-2 }).Within(1e-15));
        Assert.That(SearchSpace.Parse("3e-5, 1e-4,3e-5", "--lr").Values, Is.EqualTo(new[] { 3e-5, 1e-4 }));
    }

    [Test]
    public void BracketsTradeConfigurationsForSteps()
    {
        var plan = HalvingPlan.Create(SearchSpace.Parse("1e-5:1e-3", "--lr"), SearchSpace.Parse("1e-4,1e-3", "--eps"), 90, 3, 10, 3, 2000, null);
        Assert.That(plan.Select(b => b.Rungs.Count), Is.EqualTo(new[] { 3, 2, 1 }), "K = s_max, s_max−1, s_max−2");
        Assert.That(plan.Select(b => b.Rungs[0].Steps), Is.EqualTo(new long[] { 10, 30, 90 }));
        foreach (var b in plan)
        {
            Assert.That(b.Steps, Is.LessThanOrEqualTo(2000 / 3));
            Assert.That(b.Configs.Count % 2, Is.Zero, "every learning rate with both ε");
        }
    }

    [Test]
    public void UnusableSpacesAndBudgetsAreOptionErrors()
    {
        var eps = SearchSpace.Single("--eps", 1e-3);
        Assert.That(Assert.Throws<OrtZoException>(() => SearchSpace.Parse("1e-2:1e-6", "--lr"))!.Subject, Is.EqualTo("--lr"));
        Assert.That(Assert.Throws<OrtZoException>(() => SearchSpace.Parse("1e-4,abc", "--lr"))!.Message, Does.Contain("abc"));
        var list = SearchSpace.Parse("1e-5,3e-5,1e-4,3e-4", "--lr");
        var tooSmall = Assert.Throws<OrtZoException>(() => HalvingPlan.Create(list, eps, 100, 3, 10, 1, 100, null))!;
        Assert.That(tooSmall.Subject, Is.EqualTo("--budget"));
        Assert.That(tooSmall.Message, Does.Contain($"needs {HalvingPlan.CostInSteps(HalvingPlan.Rungs(4, 1, 100, 3))} steps"));
        Assert.That(Assert.Throws<OrtZoException>(() => HalvingPlan.Create(SearchSpace.Parse("1e-5:1e-3", "--lr"), eps, 100, 3, 10, 1, null, null))!.Subject, Is.EqualTo("--lr"));
        Assert.That(Assert.Throws<OrtZoException>(() => HalvingPlan.Create(list, eps, 100, 1, 10, 1, null, null))!.Subject, Is.EqualTo("--eta"));
    }
}
