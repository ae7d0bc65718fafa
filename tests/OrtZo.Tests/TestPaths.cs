namespace OrtZo.Tests;

/// <summary>Locations the tests use: the repository (found from the test binary) and the data beside it.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The shipped default model: stories260K converted by `ortzo make-model llama2c`.</summary>
    public static string Stories260k => Path.Combine(RepoRoot, "models", "stories260k");

    /// <summary>../shared/data beside the checkout; absent on machines without it (tests using it then skip).</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    /// <summary>A causal LM exported from transformers (../shared/data/hf-exports/<paramref name="name"/>); the test
    /// is ignored where it is absent.</summary>
    public static string HfExport(string name)
    {
        string folder = Path.Combine(SharedData, "hf-exports", name);
        if (!File.Exists(Path.Combine(folder, "model.onnx")))
            NUnit.Framework.Assert.Ignore($"{folder} is absent (../shared/data beside the checkout)");
        return folder;
    }

    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OrtZo.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no OrtZo.sln above {AppContext.BaseDirectory}");
    }
}
