using System.Globalization;

namespace OrtZo.Cli.Sweep;

/// <summary>
/// One hyperparameter's search space: a list of values ("1e-5,3e-5,1e-4") or a log-uniform range ("1e-6:1e-2") that
/// a sweep covers with as many log-spaced points as its budget allows.
/// </summary>
internal sealed record SearchSpace(string Option, double[]? Values, double Low, double High)
{
    public bool IsRange => Values is null;

    public static SearchSpace Parse(string text, string option)
    {
        if (text.Contains(':'))
        {
            var parts = text.Split(':');
            if (parts.Length != 2 || !TryPositive(parts[0], out double low) || !TryPositive(parts[1], out double high) || !(low < high))
                throw OptionErrors.Fail(OptionError.UnknownValue, option, $"'{text}': a range is LOW:HIGH with 0 < LOW < HIGH (searched on a log scale), e.g. 1e-6:1e-2");
            return new SearchSpace(option, null, low, high);
        }
        var values = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TryPositive(part, out double v))
                throw OptionErrors.Fail(OptionError.UnknownValue, option, $"'{text}': '{part}' is not a positive number; give a list (1e-5,1e-4) or a range (1e-6:1e-2)");
            if (!values.Contains(v)) values.Add(v);
        }
        return new SearchSpace(option, [.. values], values.Min(), values.Max());
    }

    public static SearchSpace Single(string option, double value) => new(option, [value], value, value);

    /// <summary>Points a range needs for <paramref name="perDecade"/> log-spaced rates per decade, both ends included.</summary>
    public int LatticePoints(double perDecade) => Values is { } v ? v.Length : (int)Math.Clamp(Math.Round(Math.Log10(High / Low) * perDecade) + 1, 2, int.MaxValue / 2);

    /// <summary>The list's values, or <paramref name="points"/> log-spaced values of the range, both ends included.</summary>
    public double[] Points(int points)
    {
        if (Values is { } v) return v;
        if (points == 1) return [Math.Sqrt(Low * High)];
        double a = Math.Log(Low), b = Math.Log(High);
        // Rounded to 3 significant digits: the trial names and the table read 1.58e-4, not 0.00015848931924611142.
        return Enumerable.Range(0, points).Select(i => double.Parse((Math.Exp(a + (b - a) * i / (points - 1))).ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)).ToArray();
    }

    private static bool TryPositive(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value) && value > 0;
}
