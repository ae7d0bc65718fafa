namespace OrtZo.Tasks;

/// <summary>
/// One example after its task's template: candidate i is scored as the tokens of
/// <c>Prompt + Candidates[i]</c> that follow the tokens of <c>Prompt</c> (MeZO's <c>encode</c> and
/// <c>verbalize</c>: every MeZO template's verbalized text is its encoded prompt followed by the candidate).
/// </summary>
/// <param name="Prompt">The prompt, spaces and newlines exactly as the template writes them.</param>
/// <param name="Candidates">The continuations, in the order the gold index counts them.</param>
/// <param name="Gold">Index of the correct candidate.</param>
/// <param name="Group">MultiRC only: "paragraph/question" ids, the unit of its exact-match metric.</param>
/// <param name="Source">Where it was read ("file:line"), for later error messages; null for examples made in memory.</param>
internal sealed record TemplatedExample(string Prompt, IReadOnlyList<string> Candidates, int Gold, string? Group = null, string? Source = null);
