using OrtZo;
namespace OrtZo.Tasks;

/// <summary>
/// A GLUE-style TSV file: a header row naming the columns, then one example per line with exactly as many
/// tab-separated cells (no quoting, as in GLUE and the LM-BFF k-shot splits).
/// </summary>
internal static class TsvTable
{
    /// <summary>Calls <paramref name="map"/> on every data line; <paramref name="columns"/> must all be in the header.</summary>
    public static List<TemplatedExample> ReadFile(string path, IReadOnlyList<string> columns, Func<TsvRow, TemplatedExample> map)
    {
        var examples = new List<TemplatedExample>();
        string[]? header = null;
        int[] cellOf = new int[columns.Count];
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string location = $"{path}:{lineNumber}";
            if (header is null)
            {
                header = line.Split('\t');
                for (int c = 0; c < columns.Count; c++)
                {
                    cellOf[c] = Array.IndexOf(header, columns[c]);
                    if (cellOf[c] < 0)
                    {
                        throw TaskErrors.Fail(TaskDataError.MissingColumn, location, columns[c],
                            $"the header has no column '{columns[c]}'; expected a tab-separated header with columns {string.Join(", ", columns)}");
                    }
                }
                continue;
            }
            if (line.Length == 0)
            {
                continue;
            }
            string[] cells = line.Split('\t');
            if (cells.Length != header.Length)
            {
                throw TaskErrors.Fail(TaskDataError.WrongColumnCount, location, null,
                    $"{cells.Length} tab-separated columns; expected {header.Length} ({string.Join(", ", header)})");
            }
            examples.Add(map(new TsvRow(location, columns, cellOf, cells)));
        }
        if (header is null)
        {
            throw TaskErrors.Fail(TaskDataError.EmptyFile, $"{path}:1", null, $"the file is empty; expected a header with columns {string.Join(", ", columns)}");
        }
        return examples;
    }
}

/// <summary>One data line of a <see cref="TsvTable"/>.</summary>
internal readonly struct TsvRow(string location, IReadOnlyList<string> columns, int[] cellOf, string[] cells)
{
    /// <summary>"file:line".</summary>
    public string Location => location;

    public string Cell(string column)
    {
        int c = IndexOf(column);
        return cells[cellOf[c]];
    }

    public int Label(string column, LabelSpec spec)
    {
        string text = Cell(column);
        return spec.FromText(text) ?? throw TaskErrors.Fail(TaskDataError.InvalidLabel, location, column,
            $"column '{column}' is \"{text}\"; expected {spec.Describe()}");
    }

    private int IndexOf(string column)
    {
        for (int c = 0; c < columns.Count; c++)
        {
            if (columns[c] == column)
            {
                return c;
            }
        }
        throw new ArgumentException($"Column '{column}' was not requested when the table was read.", nameof(column));
    }
}
