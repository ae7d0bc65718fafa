using NUnit.Framework;
using System.Text.Json;
using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tests.Tokenization;

/// <summary>Paths and loaders for Fixtures/tokenizers (see its README for where each file comes from).</summary>
internal static class TokenizerFixtures
{
    public static string PathOf(params string[] parts) =>
        Path.Combine([TestContext.CurrentContext.TestDirectory, "Fixtures", "tokenizers", .. parts]);

    public static string Gpt2SubsetFolder => PathOf("gpt2-subset");

    public static string Stories260kFolder => PathOf("stories260k");

    public static TokenizerInfo ByteBpeInfo => new() { Kind = TextTokenizer.ByteBpeKind, Files = ["vocab.json", "merges.txt"] };

    public static TokenizerInfo SentencePieceInfo => new() { Kind = TextTokenizer.SentencePieceKind, Files = ["tokenizer.model"] };

    /// <summary>Rows of a golden file: [{"text": ..., "ids": [...]}, ...].</summary>
    public static List<(string Text, int[] Ids)> ReadGolden(string fileName)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(PathOf(fileName)));
        return document.RootElement.EnumerateArray()
            .Select(row => (row.GetProperty("text").GetString()!, row.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray()))
            .ToList();
    }

    public static List<string> GoldenTexts() =>
        JsonSerializer.Deserialize<List<string>>(File.ReadAllText(PathOf("golden_texts.json")))!;

    /// <summary>A fresh temporary folder, deleted when the returned handle is disposed.</summary>
    public static TempFolder NewTempFolder() => new();

    internal sealed class TempFolder : IDisposable
    {
        public TempFolder()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ortzo-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
