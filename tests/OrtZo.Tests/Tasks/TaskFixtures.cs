using NUnit.Framework;

namespace OrtZo.Tests.Tasks;

/// <summary>Paths into Fixtures/tasks (see its README for the source of each file).</summary>
internal static class TaskFixtures
{
    public static string PathOf(string name) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "tasks", name);

    /// <summary>Writes <paramref name="content"/> to a fresh temporary file with the given extension; delete it when done.</summary>
    public static string WriteTemp(string content, string extension = ".jsonl")
    {
        string path = Path.Combine(Path.GetTempPath(), "ortzo-task-" + Guid.NewGuid().ToString("N") + extension);
        File.WriteAllText(path, content);
        return path;
    }
}
