using System.Text.Json;

using OrtZo;
namespace OrtZo.Tasks;

/// <summary>
/// A JSON object read from one line of a JSONL file (or an object nested in it), with typed getters whose
/// errors name the file, the line, the field's path and what was expected.
/// </summary>
internal readonly struct JsonlRecord
{
    private readonly JsonElement _element;
    private readonly string _path;

    private JsonlRecord(JsonElement element, string location, string path)
    {
        _element = element;
        Location = location;
        _path = path;
    }

    /// <summary>"file:line".</summary>
    public string Location { get; }

    /// <summary>"file:line" plus, for a nested object, its path ("file:line passage.questions[0].answers[2]").</summary>
    public string Source => _path.Length == 0 ? Location : $"{Location} {_path}";

    /// <summary>Calls <paramref name="map"/> on every non-empty line of <paramref name="path"/>, in order.</summary>
    public static List<TemplatedExample> ReadFile(string path, Func<JsonlRecord, IEnumerable<TemplatedExample>> map)
    {
        var examples = new List<TemplatedExample>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            string location = $"{path}:{lineNumber}";
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw TaskErrors.Fail(TaskDataError.InvalidJson, location, null, $"not valid JSON ({e.Message}); expected one JSON object per line", e);
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw TaskErrors.Fail(TaskDataError.NotAnObject, location, null, $"the line is a JSON {Kind(document.RootElement)}; expected a JSON object");
                }
                examples.AddRange(map(new JsonlRecord(document.RootElement, location, "")));
            }
        }
        return examples;
    }

    public string String(string field)
    {
        JsonElement value = Require(field, "a string");
        if (value.ValueKind != JsonValueKind.String)
        {
            throw WrongType(field, value, "a string");
        }
        return value.GetString()!;
    }

    /// <summary>An id field that some copies write as a number and others as a string; returned as text.</summary>
    public string Id(string field)
    {
        JsonElement value = Require(field, "an id (integer or string)");
        return value.ValueKind switch
        {
            JsonValueKind.Number or JsonValueKind.String => value.ToString(),
            _ => throw WrongType(field, value, "an id (integer or string)"),
        };
    }

    public bool Has(string field) => _element.TryGetProperty(field, out _);

    public int Label(string field, LabelSpec spec)
    {
        JsonElement value = Require(field, spec.Describe());
        int? label = value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetInt32(out int index) && index >= 0 && index < spec.Count ? index : null,
            JsonValueKind.String when spec.Names is not null => spec.FromText(value.GetString()!),
            JsonValueKind.True when spec.AcceptsBooleans => spec.FromBoolean(true),
            JsonValueKind.False when spec.AcceptsBooleans => spec.FromBoolean(false),
            _ => null,
        };
        return label ?? throw TaskErrors.Fail(TaskDataError.InvalidLabel, Location, PathOf(field),
            $"field '{PathOf(field)}' is {value.GetRawText()}; expected {spec.Describe()}");
    }

    public JsonlRecord Object(string field)
    {
        JsonElement value = Require(field, "a JSON object");
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw WrongType(field, value, "a JSON object");
        }
        return new JsonlRecord(value, Location, PathOf(field));
    }

    /// <summary>The objects of an array field, each knowing its path ("field[i]") for later errors.</summary>
    public List<JsonlRecord> Objects(string field)
    {
        JsonElement value = Require(field, "an array of objects");
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(field, value, "an array of objects");
        }
        var items = new List<JsonlRecord>();
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string itemPath = $"{PathOf(field)}[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw TaskErrors.Fail(TaskDataError.WrongType, Location, itemPath, $"field '{itemPath}' is a JSON {Kind(item)}; expected a JSON object");
            }
            items.Add(new JsonlRecord(item, Location, itemPath));
        }
        return items;
    }

    /// <summary>The strings of an array field.</summary>
    public List<string> Strings(string field)
    {
        JsonElement value = Require(field, "an array of strings");
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(field, value, "an array of strings");
        }
        var items = new List<string>();
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string itemPath = $"{PathOf(field)}[{i++}]";
            if (item.ValueKind != JsonValueKind.String)
            {
                throw TaskErrors.Fail(TaskDataError.WrongType, Location, itemPath, $"field '{itemPath}' is a JSON {Kind(item)}; expected a string");
            }
            items.Add(item.GetString()!);
        }
        return items;
    }

    /// <summary>An error about <paramref name="field"/> of this record, located at its line.</summary>
    public OrtZoException Error(TaskDataError reason, string field, string problem) => TaskErrors.Fail(reason, Location, PathOf(field), problem);

    private JsonElement Require(string field, string expected)
    {
        if (!_element.TryGetProperty(field, out JsonElement value))
        {
            throw TaskErrors.Fail(TaskDataError.MissingField, Location, PathOf(field), $"field '{PathOf(field)}' is missing; expected {expected}");
        }
        return value;
    }

    private OrtZoException WrongType(string field, JsonElement value, string expected) =>
        TaskErrors.Fail(TaskDataError.WrongType, Location, PathOf(field), $"field '{PathOf(field)}' is a JSON {Kind(value)}; expected {expected}");

    private string PathOf(string field) => _path.Length == 0 ? field : $"{_path}.{field}";

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => value.ValueKind.ToString(),
    };
}
