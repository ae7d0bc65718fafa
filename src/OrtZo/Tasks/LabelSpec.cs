namespace OrtZo.Tasks;

/// <summary>
/// The labels a field may hold, as the public copies of each data set write them: a class index, a class
/// name (GLUE/SuperGLUE strings such as "not_entailment") or a JSON boolean.
/// </summary>
/// <param name="Count">Number of classes; indices 0..Count-1 are accepted.</param>
/// <param name="Names">Class names by index, or null when names are not accepted.</param>
/// <param name="TrueIndex">Index a JSON <c>true</c> stands for (<c>false</c> is the other of two), or null when booleans are not accepted.</param>
internal sealed record LabelSpec(int Count, IReadOnlyList<string>? Names = null, int? TrueIndex = null)
{
    public static readonly LabelSpec Binary = new(2);
    public static readonly LabelSpec Rte = new(2, ["entailment", "not_entailment"]);
    public static readonly LabelSpec Cb = new(3, ["entailment", "contradiction", "neutral"]);
    /// <summary>WiC and MultiRC: true is class 1 ("Yes").</summary>
    public static readonly LabelSpec TrueIsOne = new(2, null, TrueIndex: 1);

    public bool AcceptsBooleans => TrueIndex is not null;

    public int FromBoolean(bool value) => value ? TrueIndex!.Value : 1 - TrueIndex!.Value;

    /// <summary>The class a TSV cell names (an index or a class name), or null when it names none.</summary>
    public int? FromText(string text)
    {
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
        {
            return index < Count ? index : null;
        }
        for (int i = 0; Names is not null && i < Names.Count; i++)
        {
            if (Names[i] == text)
            {
                return i;
            }
        }
        return null;
    }

    /// <summary>What a valid label looks like, for error messages.</summary>
    public string Describe()
    {
        var forms = new List<string> { $"an integer 0..{Count - 1}" };
        if (Names is not null)
        {
            forms.Add(string.Join(" or ", Names.Select(n => $"\"{n}\"")));
        }
        if (AcceptsBooleans)
        {
            forms.Add("true or false");
        }
        return string.Join(", ", forms);
    }
}
