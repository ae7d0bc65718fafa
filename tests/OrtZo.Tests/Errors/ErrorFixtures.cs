using System.Text.Json.Nodes;

namespace OrtZo.Tests.Errors;

/// <summary>Copies of real folders to corrupt one thing at a time, and edits of their JSON files.</summary>
internal static class ErrorFixtures
{
    public static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    /// <summary>Rewrites a JSON file through <paramref name="edit"/> (the root as a mutable node).</summary>
    public static void EditJson(string path, Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(root);
        File.WriteAllText(path, root.ToJsonString());
    }

    public static string Train => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", "train.jsonl");
}
