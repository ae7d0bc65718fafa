using OrtZo.Distributed.Coordinator;
using StackExchange.Redis;

namespace OrtZo.Distributed.Journal;

/// <summary>
/// A journal as a Redis list per run, for clusters that use Redis for membership anyway. The length check and
/// the append run as one Lua script, so the version check is atomic; Redis persistence (AOF with
/// appendfsync always, for instance) decides how durable an acknowledged event is.
/// </summary>
public sealed class RedisRunJournal(IConnectionMultiplexer redis, string prefix = "ortzo:journal:") : IRunJournal
{
    private const string AppendScript = """
        if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
        for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
        return 1
        """;

    public async Task<IReadOnlyList<RunEvent>> ReadAsync(string runId)
    {
        var values = await redis.GetDatabase().ListRangeAsync(prefix + runId);
        return values.Select(v => JournalJson.Parse(v.ToString())).ToArray();
    }

    public async Task<bool> AppendAsync(string runId, IReadOnlyList<RunEvent> events, int expectedVersion)
    {
        var args = new RedisValue[events.Count + 1];
        args[0] = expectedVersion;
        for (int i = 0; i < events.Count; i++) args[i + 1] = JournalJson.Line(events[i]);
        var result = await redis.GetDatabase().ScriptEvaluateAsync(AppendScript, [prefix + runId], args);
        return (int)result == 1;
    }
}
