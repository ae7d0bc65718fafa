namespace OrtZo.Cli.Sweep;

/// <summary>One rung of successive halving: trials still in the bracket train to <see cref="Steps"/>; the best
/// <see cref="Promoted"/> by dev loss go on to the next rung.</summary>
internal sealed record Rung(long Steps, int Trials, int Promoted);

/// <summary>One bracket: its configurations and its rungs (the last rung's steps are the full run length).</summary>
internal sealed record Bracket(int Index, IReadOnlyList<(double Lr, double Eps)> Configs, IReadOnlyList<Rung> Rungs)
{
    /// <summary>Training steps the bracket spends: promotion resumes a trial, so a rung costs only its extra steps.</summary>
    public long Steps => HalvingPlan.CostInSteps(Rungs);
}

/// <summary>
/// Successive halving with Hyperband-style brackets. A bracket with n configurations and K promotions trains all n for
/// R/η^K steps, keeps the best ⌊n/η⌋ by dev loss, trains those to R/η^(K−1) steps, and so on until R. Trials are
/// resumed, not restarted, so a rung costs n_i·(r_i − r_{i−1}) steps. Several brackets split the budget and trade
/// configurations for steps (K = s_max, s_max−1, …: the last bracket of a full Hyperband runs few configurations for
/// all R steps), each with the most configurations that fit.
/// A single bracket over a range spends its budget differently: it takes at most a fixed number of rates per decade
/// and puts what is left of the budget into longer rungs (see <see cref="Fit"/>). Short rungs are where successive
/// halving goes wrong for ZO rates: early dev loss mostly measures how fast a rate gets going, so larger rates win
/// the first cut whether or not they hold up to R, and rates closer than a third of a decade apart differ by noise.
/// </summary>
internal static class HalvingPlan
{
    public const int MaxConfigs = 2000;

    /// <summary>Rates per decade a range is searched at by default: 1, 2.15, 4.64 × 10^k, the usual hand grid. Finer
    /// does not pay for ZO fine-tuning: on the sweep table's tasks, neighbouring rates a third of a decade apart already
    /// swing test accuracy by run-to-run noise, and every extra rate shortens every rung.</summary>
    public const double DefaultPerDecade = 3;

    public static long CostInSteps(IReadOnlyList<Rung> rungs)
    {
        long cost = 0, previous = 0;
        foreach (var rung in rungs)
        {
            cost += rung.Trials * (rung.Steps - previous);
            previous = rung.Steps;
        }
        return cost;
    }

    /// <summary>Rungs for <paramref name="n"/> configurations with <paramref name="promotions"/> halvings (K).</summary>
    public static IReadOnlyList<Rung> Rungs(int n, int promotions, long steps, int eta)
    {
        var rungs = new List<Rung>();
        for (int i = 0; i <= promotions; i++)
        {
            long r = i == promotions ? steps : Math.Max(1, (long)Math.Round(steps / Math.Pow(eta, promotions - i)));
            int trials = Math.Max(1, (int)(n / Math.Pow(eta, i) + 1e-9));
            int promoted = i == promotions ? 0 : Math.Max(1, (int)(n / Math.Pow(eta, i + 1) + 1e-9));
            rungs.Add(new Rung(r, trials, promoted));
        }
        return rungs;
    }

    /// <summary>Halvings that n configurations allow (⌊log_η n⌋), no more than the shortest rung allows.</summary>
    public static int Promotions(int n, long steps, int eta, long minSteps) => Math.Min(FloorLog(n, eta), MaxPromotions(steps, eta, minSteps));

    /// <summary>s_max: the most halvings whose first rung still trains at least <paramref name="minSteps"/>.</summary>
    public static int MaxPromotions(long steps, int eta, long minSteps) => FloorLog(Math.Max(1, steps / (double)minSteps), eta);

    private static int FloorLog(double x, int eta)
    {
        int k = 0;
        double p = eta;
        while (p <= x * (1 + 1e-12)) { k++; p *= eta; }
        return k;
    }

    /// <summary>
    /// The brackets of a sweep. <paramref name="budgetSteps"/> (training steps, null = none) bounds the total; a list
    /// search space fixes the configurations. A range in one bracket gets up to <paramref name="perDecade"/> log-spaced
    /// rates per decade (fewer when the budget cannot halve that many) and the longest rungs that fit; in several
    /// brackets, as many points as fit each bracket's share.
    /// </summary>
    public static IReadOnlyList<Bracket> Create(SearchSpace lr, SearchSpace eps, long steps, int eta, long minSteps, int brackets, long? budgetSteps, int? trials, double? perDecade = null)
    {
        if (eta < 2) throw OptionErrors.Fail(OptionError.OutOfRange, "--eta", $"{eta}: keep 1/η each rung, η ≥ 2");
        if (steps < 1) throw OptionErrors.Fail(OptionError.OutOfRange, "--steps", $"{steps}: a sweep needs at least one step");
        if (minSteps < 1 || minSteps > steps) throw OptionErrors.Fail(OptionError.OutOfRange, "--min-steps", $"{minSteps}: must be 1..--steps ({steps})");
        if (brackets < 1) throw OptionErrors.Fail(OptionError.OutOfRange, "--brackets", $"{brackets}: at least 1");
        int sMax = MaxPromotions(steps, eta, minSteps);
        if (brackets > sMax + 1)
            throw OptionErrors.Fail(OptionError.OutOfRange, "--brackets", $"{brackets}: with --steps {steps}, --min-steps {minSteps} and --eta {eta} at most {sMax + 1} brackets differ");
        double[] epsValues = eps.IsRange ? eps.Points(3) : eps.Values!;
        bool searchable = lr.IsRange;
        if (perDecade is { } asked && (!searchable || brackets > 1 || trials is not null || budgetSteps is null))
            throw OptionErrors.Fail(OptionError.Conflict, "--per-decade", $"{asked}: applies to a --lr range with --budget in one bracket; a list, --trials or --brackets fix the rates otherwise");
        if (!searchable)
        {
            if (brackets > 1) throw OptionErrors.Fail(OptionError.Conflict, "--brackets", "needs a --lr range (LOW:HIGH): brackets try different numbers of configurations");
            if (trials is not null) throw OptionErrors.Fail(OptionError.Conflict, "--trials", "needs a --lr range (LOW:HIGH); a list fixes the trials");
            var configs = Product(lr.Values!, epsValues);
            if (budgetSteps is not { } b)
                return [new Bracket(0, configs, Rungs(configs.Count, Promotions(configs.Count, steps, eta, minSteps), steps, eta))];
            var fitted = Fit(configs.Count, steps, eta, minSteps, b)
                ?? throw OptionErrors.Fail(OptionError.OutOfRange, "--budget", $"is {b} steps' forwards but halving {configs.Count} configurations to {steps} steps needs {CheapestCost(configs.Count, steps, eta, minSteps)} steps; raise --budget, shorten --steps or give fewer values");
            return [new Bracket(0, configs, fitted)];
        }
        if (budgetSteps is null && trials is null)
            throw OptionErrors.Fail(OptionError.Conflict, "--lr", "range needs --budget (forwards) or --trials (configurations per bracket) to decide how many points to try");
        if (perDecade is { } d && !(d > 0 && double.IsFinite(d)))
            throw OptionErrors.Fail(OptionError.OutOfRange, "--per-decade", $"{d}: must be a positive number of rates per decade");
        if (brackets == 1 && trials is null)
        {
            // Resolution first, up to perDecade rates per decade; then the longest rungs the budget pays for.
            int lattice = Math.Min(MaxConfigs / epsValues.Length, lr.LatticePoints(perDecade ?? DefaultPerDecade));
            for (int lrPoints = lattice; lrPoints >= 1; lrPoints--)
            {
                var configs = Product(lr.Points(lrPoints), epsValues);
                if (Fit(configs.Count, steps, eta, minSteps, budgetSteps!.Value) is { } fitted) return [new Bracket(0, configs, fitted)];
            }
            throw OptionErrors.Fail(OptionError.OutOfRange, "--budget", $"is too small: it cannot train even {epsValues.Length} configuration(s) through their rungs; raise --budget or lower --min-steps");
        }

        var result = new List<Bracket>();
        for (int j = 0; j < brackets; j++)
        {
            int? fixedPromotions = brackets == 1 ? null : sMax - j;
            long? share = budgetSteps is { } total ? total / brackets : null;
            int n = trials ?? LargestFitting(share!.Value, steps, eta, minSteps, fixedPromotions, epsValues.Length);
            if (n < epsValues.Length)
                throw OptionErrors.Fail(OptionError.OutOfRange, "--budget", $"is too small: bracket {j} cannot train even {epsValues.Length} configuration(s) through its rungs; raise --budget or --min-steps");
            int lrPoints = n / epsValues.Length;
            var configs = Product(lr.Points(lrPoints), epsValues);
            int k = fixedPromotions ?? Promotions(configs.Count, steps, eta, minSteps);
            result.Add(new Bracket(j, configs, Rungs(configs.Count, k, steps, eta)));
        }
        return result;
    }

    /// <summary>
    /// The rungs that halve <paramref name="n"/> configurations to <paramref name="steps"/> within
    /// <paramref name="budget"/> steps with the longest first rung, or null when none fits. Every K from 1 while the
    /// next-to-last rung still compares two trials is tried; its rungs are geometric, r_i = R/c^(K−i), with the
    /// smallest ratio c ≤ η the budget pays for (c = η is plain successive halving, and no plan trains its first rung
    /// shorter than that or than <paramref name="minSteps"/>). A budget for all n to R is a grid: one rung.
    /// </summary>
    public static IReadOnlyList<Rung>? Fit(int n, long steps, int eta, long minSteps, long budget)
    {
        if (n * steps <= budget) return [new Rung(steps, n, 0)];
        IReadOnlyList<Rung>? best = null;
        for (int k = 1; n / Math.Pow(eta, k - 1) >= 2 - 1e-9; k++)
        {
            var widest = Geometric(n, k, steps, eta, eta);
            if (widest[0].Steps < minSteps) break;   // deeper brackets only shorten the first rung
            if (!Usable(widest, budget)) continue;
            double lo = 1, hi = eta;   // Usable at hi; find the smallest ratio that still is
            for (int i = 0; i < 60; i++)
            {
                double mid = 0.5 * (lo + hi);
                if (Usable(Geometric(n, k, steps, eta, mid), budget)) hi = mid; else lo = mid;
            }
            var rungs = Geometric(n, k, steps, eta, hi);
            if (best is null || rungs[0].Steps > best[0].Steps) best = rungs;
        }
        return best;
    }

    private static bool Usable(IReadOnlyList<Rung> rungs, long budget)
    {
        for (int i = 1; i < rungs.Count; i++)
            if (rungs[i].Steps <= rungs[i - 1].Steps) return false;
        return CostInSteps(rungs) <= budget;
    }

    private static IReadOnlyList<Rung> Geometric(int n, int promotions, long steps, int eta, double ratio)
    {
        var rungs = Rungs(n, promotions, steps, eta);
        return [.. rungs.Select((r, i) => r with { Steps = i == promotions ? steps : Math.Max(1, (long)Math.Round(steps / Math.Pow(ratio, promotions - i))) })];
    }

    /// <summary>The fewest steps any plain successive-halving plan of n configurations needs (for the error message).</summary>
    private static long CheapestCost(int n, long steps, int eta, long minSteps)
    {
        long cheapest = n * steps;
        for (int k = 1; n / Math.Pow(eta, k - 1) >= 2 - 1e-9 && steps / Math.Pow(eta, k) >= minSteps - 0.5; k++)
            cheapest = Math.Min(cheapest, CostInSteps(Rungs(n, k, steps, eta)));
        return cheapest;
    }

    private static int LargestFitting(long budget, long steps, int eta, long minSteps, int? fixedPromotions, int multiple)
    {
        int best = 0;
        for (int n = multiple; n <= MaxConfigs; n += multiple)
        {
            int k = fixedPromotions ?? Promotions(n, steps, eta, minSteps);
            if (CostInSteps(Rungs(n, k, steps, eta)) <= budget) best = n;
        }
        return best;
    }

    private static List<(double, double)> Product(double[] lrs, double[] epss) =>
        [.. from l in lrs from e in epss select (l, e)];
}
