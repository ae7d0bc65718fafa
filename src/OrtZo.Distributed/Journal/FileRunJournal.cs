using System.Text;
using OrtZo.Distributed.Coordinator;

namespace OrtZo.Distributed.Journal;

/// <summary>
/// A journal as JSON-lines files, one per run, in a folder every silo can reach (local disk for one machine,
/// shared storage for several). Appends hold an exclusive lock on the file, check the event count against the
/// expected version, write and flush to disk before returning: an acknowledged event survives a crash.
/// A line torn by a crash mid-write is ignored on reading (it was never acknowledged).
/// </summary>
public sealed class FileRunJournal(string folder) : IRunJournal
{
    // What this process last saw of each file, so an append need not re-read the whole journal
    // unless someone else wrote to it since.
    private readonly Dictionary<string, (int Count, long Length)> _seen = new();

    public string Folder { get; } = Path.GetFullPath(folder);

    public string PathOf(string runId) => Path.Combine(Folder, Sanitize(runId) + ".journal.jsonl");

    public async Task<IReadOnlyList<RunEvent>> ReadAsync(string runId)
    {
        string path = PathOf(runId);
        if (!File.Exists(path)) return [];
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                return ReadEvents(stream).Events;
            }
            catch (IOException) when (attempt < 50)
            {
                await Task.Delay(20);
            }
        }
    }

    public async Task<bool> AppendAsync(string runId, IReadOnlyList<RunEvent> events, int expectedVersion)
    {
        Directory.CreateDirectory(Folder);
        string path = PathOf(runId);
        for (int attempt = 0; ; attempt++)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 200)
            {
                await Task.Delay(10);   // another process holds the write lock
                continue;
            }
            await using (stream)
            {
                (int Count, long Length) seen;
                lock (_seen)
                    if (!_seen.TryGetValue(path, out seen)) seen = (-1, -1);
                if (seen.Length != stream.Length)
                {
                    var (existing, length) = ReadEvents(stream);
                    seen = (existing.Count, length);
                }
                var (count, validLength) = seen;
                if (count != expectedVersion) return false;
                stream.SetLength(validLength);   // drop a torn tail
                stream.Seek(validLength, SeekOrigin.Begin);
                var text = new StringBuilder();
                foreach (var e in events) text.Append(JournalJson.Line(e)).Append('\n');
                byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
                await stream.WriteAsync(bytes);
                stream.Flush(flushToDisk: true);
                lock (_seen) _seen[path] = (count + events.Count, validLength + bytes.Length);
                return true;
            }
        }
    }

    private static (List<RunEvent> Events, long ValidLength) ReadEvents(FileStream stream)
    {
        stream.Seek(0, SeekOrigin.Begin);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        var events = new List<RunEvent>();
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            events.Add(JournalJson.Parse(Encoding.UTF8.GetString(bytes, start, i - start)));
            start = i + 1;
        }
        return (events, start);
    }

    private static string Sanitize(string runId) =>
        string.Concat(runId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
