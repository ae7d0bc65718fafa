#if !ORTZO_GPU
using Microsoft.ML.OnnxRuntimeGenAI;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// onnxruntime-genai's tokenizer (its own HF-compatible implementation, from onnxruntime-extensions) as the
/// independent reference: a GenAI model folder needs a decoder, so the tokenizer files under test sit beside
/// onnxruntime-genai's 1.4 KB dummy decoder (Fixtures/genai/dummy-decoder, MIT).
/// </summary>
internal sealed class GenAiReference : IDisposable
{
    private readonly Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly string _folder;

    public GenAiReference(string tokenizerFolder)
    {
        _folder = Path.Combine(Path.GetTempPath(), $"ortzo-genai-tok-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "genai", "dummy-decoder")))
            File.Copy(file, Path.Combine(_folder, Path.GetFileName(file)));
        foreach (var file in Directory.GetFiles(tokenizerFolder))
            File.Copy(file, Path.Combine(_folder, Path.GetFileName(file)));
        _model = new Model(_folder);
        _tokenizer = new Tokenizer(_model);
    }

    public int[] Encode(string text)
    {
        using var sequences = _tokenizer.Encode(text);
        return sequences[0].ToArray();
    }

    /// <summary>
    /// Encode with the special tokens tokenizer_config.json asks for (add_bos_token, add_eos_token): GenAI leaves them
    /// out unless its add_special_tokens option is on, so this encodes with it on and turns it off again.
    /// </summary>
    public int[] EncodeWithSpecialTokens(string text)
    {
        _tokenizer.UpdateOptions(new Dictionary<string, string> { ["add_special_tokens"] = "true" });
        try
        {
            return Encode(text);
        }
        finally
        {
            _tokenizer.UpdateOptions(new Dictionary<string, string> { ["add_special_tokens"] = "false" });
        }
    }

    public string Decode(int[] ids) => _tokenizer.Decode(ids);

    public void Dispose()
    {
        _tokenizer.Dispose();
        _model.Dispose();
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
#endif
