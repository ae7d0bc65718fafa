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

    /// <summary>
    /// The longest first rung of any halving of n configurations to R steps within a budget, found by brute force: every
    /// K whose next-to-last rung compares two trials, every integer first rung from plain successive halving's (R/η^K)
    /// up, the other rungs geometric between it and R.
    /// </summary>
    private static long LongestFirstRung(int n, long steps, int eta, long budget)
    {
        long longest = 0;
        for (int k = 1; n / Math.Pow(eta, k - 1) >= 2; k++)
            for (long r0 = (long)Math.Round(steps / Math.Pow(eta, k)); r0 < steps; r0++)
            {
                double ratio = Math.Pow(steps / (double)r0, 1.0 / k);
                var rungs = HalvingPlan.Rungs(n, k, steps, eta).Select((r, i) => r with { Steps = i == k ? steps : (long)Math.Round(steps / Math.Pow(ratio, k - i)) }).ToList();
                bool increasing = rungs.Zip(rungs.Skip(1)).All(p => p.Second.Steps > p.First.Steps);
                if (increasing && SimulatedSteps(rungs) <= budget) longest = Math.Max(longest, rungs[0].Steps);
            }
        return longest;
    }

    [Test]
    public void ARangeIsSearchedAtThreeRatesPerDecadeWithTheLongestRungsTheBudgetPays()
    {
        var lr = SearchSpace.Parse("1e-5:1e-3", "--lr");
        var eps = SearchSpace.Single("--eps", 1e-3);
        double[] handGrid = [1e-5, 2.15e-5, 4.64e-5, 1e-4, 2.15e-4, 4.64e-4, 1e-3];
        foreach (long budget in new long[] { 377, 466, 700, 1399 })
        {
            var bracket = HalvingPlan.Create(lr, eps, 200, 3, 10, 1, budget, null).Single();
            Assert.That(bracket.Configs.Select(c => c.Lr), Is.EqualTo(handGrid), $"budget {budget}: the 7 rates of a 3-per-decade grid");
            Assert.That(SimulatedSteps(bracket.Rungs), Is.EqualTo(bracket.Steps).And.LessThanOrEqualTo(budget), $"budget {budget}");
            Assert.That(bracket.Rungs[^1].Steps, Is.EqualTo(200));
            TestContext.Out.WriteLine($"budget {budget}: " + string.Join(" → ", bracket.Rungs.Select(r => $"{r.Trials}×{r.Steps}")));
            long longest = LongestFirstRung(7, 200, 3, budget);
            Assert.That(bracket.Rungs[0].Steps, Is.InRange(longest, longest + 1), $"budget {budget}: the longest first rung that fits");
        }
        // A third of a 7-point grid of 200-step runs: 7 rates from 36 steps, not 9 rates from 22.
        var third = HalvingPlan.Create(lr, eps, 200, 3, 10, 1, 466, null).Single();
        Assert.That(third.Rungs.Select(r => (r.Trials, r.Promoted)), Is.EqualTo(new[] { (7, 2), (2, 1), (1, 0) }));
        Assert.That(third.Rungs[0].Steps, Is.GreaterThanOrEqualTo(35));
        // Plain successive halving's shortest plan for 7 rates costs 377 steps; at exactly that the rungs are 22, 67, 200.
        Assert.That(HalvingPlan.Create(lr, eps, 200, 3, 10, 1, 377, null).Single().Rungs.Select(r => r.Steps), Is.EqualTo(new long[] { 22, 67, 200 }));
        // A budget for the whole grid runs it as one: no halving.
        var grid = HalvingPlan.Create(lr, eps, 200, 3, 10, 1, 1400, null).Single();
        Assert.That(grid.Rungs, Is.EqualTo(new[] { new Rung(200, 7, 0) }));
        // Finer on request; coarser when the budget cannot halve 7 (6 rates need 355 steps, one rate alone 200).
        Assert.That(HalvingPlan.Create(lr, eps, 200, 3, 10, 1, 1400, null, perDecade: 6).Single().Configs, Has.Count.EqualTo(13));
        Assert.That(HalvingPlan.Create(lr, eps, 200, 3, 10, 1, 360, null).Single().Configs, Has.Count.EqualTo(6));
        Assert.That(HalvingPlan.Create(lr, eps, 200, 3, 10, 1, 200, null).Single().Configs.Single().Lr, Is.EqualTo(1e-4), "one rate: the range's geometric middle");
    }

    [Test]
    public void AListWithABudgetGetsTheLongestRungsThatFit()
    {
        var list = SearchSpace.Parse("1e-5,3e-5,1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1", "--lr");
        var eps = SearchSpace.Single("--eps", 1e-3);
        var plain = HalvingPlan.Create(list, eps, 200, 3, 10, 1, null, null).Single();
        Assert.That(plain.Rungs, Is.EqualTo(HalvingPlan.Rungs(9, 2, 200, 3)), "no budget: plain successive halving");
        foreach (long budget in new long[] { 466, 600, 1000 })
        {
            var fitted = HalvingPlan.Create(list, eps, 200, 3, 10, 1, budget, null).Single();
            Assert.That(fitted.Configs, Has.Count.EqualTo(9));
            Assert.That(SimulatedSteps(fitted.Rungs), Is.LessThanOrEqualTo(budget));
            long longest = LongestFirstRung(9, 200, 3, budget);
            Assert.That(fitted.Rungs[0].Steps, Is.InRange(longest, longest + 1), $"budget {budget}");
        }
    }

    [Test]
    public void LogRangePointsAreEvenlySpacedInLogarithm()
    {
        var points = SearchSpace.Parse("1e-6:1e-2", "--lr").Points(5);
        Assert.That(points, Is.EqualTo(new[] { 1e-6, 1e-5, 1e-4, 1e-3, 1e-2 }).Within(1e-15));
        Assert.That(SearchSpace.Parse("3e-5, 1e-4,3e-5", "--lr").Values, Is.EqualTo(new[] { 3e-5, 1e-4 }));
        Assert.That(SearchSpace.Parse("1e-5:1e-3", "--lr").LatticePoints(3), Is.EqualTo(7));
        Assert.That(SearchSpace.Parse("3e-5:3e-3", "--lr").LatticePoints(3), Is.EqualTo(7));
        Assert.That(SearchSpace.Parse("1e-6:1e-2", "--lr").LatticePoints(1), Is.EqualTo(5));
        Assert.That(SearchSpace.Parse("1e-4:1.5e-4", "--lr").LatticePoints(3), Is.EqualTo(2), "both ends at least");
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
        Assert.That(Assert.Throws<OrtZoException>(() => HalvingPlan.Create(SearchSpace.Parse("1e-5:1e-3", "--lr"), eps, 100, 3, 10, 1, 500, null, perDecade: 0))!.Subject, Is.EqualTo("--per-decade"));
        var ignored = Assert.Throws<OrtZoException>(() => HalvingPlan.Create(list, eps, 100, 3, 10, 1, 500, null, perDecade: 3))!;
        Assert.That(ignored.Subject, Is.EqualTo("--per-decade"), "a list fixes the rates: --per-decade would be ignored");
        Assert.That(ignored.Message, Does.Contain("a list"));
        Assert.That(Assert.Throws<OrtZoException>(() => HalvingPlan.Create(SearchSpace.Parse("1e-5:1e-3", "--lr"), eps, 100, 3, 10, 1, null, 9, perDecade: 3))!.Subject, Is.EqualTo("--per-decade"));
    }
}
