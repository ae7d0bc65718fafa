using System.Text.Json;
using System.Text.Json.Serialization;
using OrtZo.Distributed.Coordinator;

namespace OrtZo.Distributed.Journal;

/// <summary>One event per line of JSON; doubles print in their shortest round-trip form, so losses replay exactly.</summary>
internal static class JournalJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Line(RunEvent e) => JsonSerializer.Serialize(e, Options);

    public static RunEvent Parse(string line) =>
        JsonSerializer.Deserialize<RunEvent>(line, Options) ?? throw new InvalidDataException("empty journal line");
}
