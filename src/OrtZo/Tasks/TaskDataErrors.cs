namespace OrtZo.Tasks;

/// <summary>One reason per way task data can be wrong; each has its own test.</summary>
internal enum TaskDataError
{
    /// <summary>The --task name is not one OrtZo knows.</summary>
    UnknownTask,
    /// <summary>The data file does not exist.</summary>
    FileMissing,
    /// <summary>The file's extension is not a layout the task reads.</summary>
    WrongLayout,
    /// <summary>A JSONL line is not valid JSON.</summary>
    InvalidJson,
    /// <summary>A JSONL line is valid JSON but not an object.</summary>
    NotAnObject,
    /// <summary>A required field is absent.</summary>
    MissingField,
    /// <summary>A field has another JSON type than the one expected.</summary>
    WrongType,
    /// <summary>A label is outside the task's labels.</summary>
    InvalidLabel,
    /// <summary>A field holds a value the task does not define (COPA's question).</summary>
    InvalidValue,
    /// <summary>An example has no candidates.</summary>
    NoCandidates,
    /// <summary>A candidate is empty, or adds no token to score.</summary>
    EmptyCandidate,
    /// <summary>A prompt is null.</summary>
    NoPrompt,
    /// <summary>A TSV header lacks a column the task reads.</summary>
    MissingColumn,
    /// <summary>A TSV row has another number of cells than the header.</summary>
    WrongColumnCount,
    /// <summary>A TSV file has no header.</summary>
    EmptyFile,
}

/// <summary>Builds the <see cref="OrtZoException"/> for a task-data problem: "file:line: problem" or "example N: problem".</summary>
internal static class TaskErrors
{
    /// <param name="location">"path:line" (lines from 1) for a data file, "example N" for an example in memory, or a path.</param>
    public static OrtZoException Fail(TaskDataError reason, string location, string? field, string problem, Exception? inner = null)
    {
        string? file = location;
        int? line = null;
        int colon = location.LastIndexOf(':');
        if (colon > 0 && int.TryParse(location.AsSpan(colon + 1), out int n))
        {
            file = location[..colon];
            line = n;
        }
        else if (location.StartsWith("example ", StringComparison.Ordinal))
        {
            file = null;
        }
        var kind = reason switch
        {
            TaskDataError.UnknownTask => OrtZoErrorKind.InvalidOption,
            TaskDataError.FileMissing => OrtZoErrorKind.NotFound,
            _ => OrtZoErrorKind.InvalidTaskData,
        };
        return new OrtZoException(kind, reason, $"{location}: {problem}", file, field, line, inner: inner);
    }
}
