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
/// resumed, not restarted, so a rung costs n_i·(r_i − r_{i−1}) steps. With a budget and a range the plan takes the
/// most configurations that fit; several brackets split the budget and trade configurations for steps (K = s_max,
/// s_max−1, …: the last bracket of a full Hyperband runs few configurations for all R steps).
/// </summary>
internal static class HalvingPlan
{
    public const int MaxConfigs = 2000;

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
    /// search space fixes the configurations, a range gets as many log-spaced points as fit.
    /// </summary>
    public static IReadOnlyList<Bracket> Create(SearchSpace lr, SearchSpace eps, long steps, int eta, long minSteps, int brackets, long? budgetSteps, int? trials)
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
        if (!searchable)
        {
            if (brackets > 1) throw OptionErrors.Fail(OptionError.Conflict, "--brackets", "needs a --lr range (LOW:HIGH): brackets try different numbers of configurations");
            if (trials is not null) throw OptionErrors.Fail(OptionError.Conflict, "--trials", "needs a --lr range (LOW:HIGH); a list fixes the trials");
            var configs = Product(lr.Values!, epsValues);
            var rungs = Rungs(configs.Count, Promotions(configs.Count, steps, eta, minSteps), steps, eta);
            long cost = CostInSteps(rungs);
            if (budgetSteps is { } b && cost > b)
                throw OptionErrors.Fail(OptionError.OutOfRange, "--budget", $"is {b} steps' forwards but halving {configs.Count} configurations to {steps} steps needs {cost} steps; raise --budget, shorten --steps or give fewer values");
            return [new Bracket(0, configs, rungs)];
        }
        if (budgetSteps is null && trials is null)
            throw OptionErrors.Fail(OptionError.Conflict, "--lr", "range needs --budget (forwards) or --trials (configurations per bracket) to decide how many points to try");

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
