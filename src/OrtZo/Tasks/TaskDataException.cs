namespace OrtZo;

/// <summary>
/// Task data that cannot be used: a malformed line in a data file, or an example that cannot be scored.
/// The message starts with <see cref="Location"/> ("file:line" or "example N") and says which field was
/// wrong and what was expected.
/// </summary>
public sealed class TaskDataException : Exception
{
    internal TaskDataException(string location, string? field, string problem, Exception? inner = null)
        : base($"{location}: {problem}", inner)
    {
        Location = location;
        Field = field;
    }

    /// <summary>"path:line" for a data file (lines count from 1), or "example N" for an example in memory.</summary>
    public string Location { get; }

    /// <summary>The field (JSON key or TSV column) at fault, or null when the line as a whole is.</summary>
    public string? Field { get; }
}
