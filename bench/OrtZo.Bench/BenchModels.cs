using OrtZo.Import;
using OrtZo.Tools;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Tokenization;

namespace OrtZo.Bench;

/// <summary>A larger GPT-style model (≈10.6 M parameters) built deterministically on first use, for bandwidth figures.</summary>
internal static class BenchModels
{
    public static string Medium(string root)
    {
        string folder = Path.Combine(root, "bench", ".models", "gpt-10m");
        if (File.Exists(Path.Combine(folder, ModelManifest.FileName))) return folder;
        string work = Directory.CreateTempSubdirectory("ortzo-bench-").FullName;
        try
        {
            var texts = File.ReadLines(Path.Combine(root, "data", "story-feelings", "train.jsonl"));
            var bpe = ByteBpeTrainer.Train(texts, 512);
            bpe.WriteTo(work);
            var config = new TinyGptConfig { VocabSize = bpe.VocabSize, ModelDim = 384, Layers = 6, Heads = 6, MaxLength = 256, Seed = 7 };
            string onnx = Path.Combine(work, "model.onnx");
            TinyGptBuilder.Write(config, onnx, externalData: false);
            ModelImport.Import(onnx, folder, new ImportOptions
            {
                Overwrite = true,
                Tokenizer = new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = [], EosId = bpe.FirstSpecialId, PadId = bpe.FirstSpecialId },
                TokenizerFiles = [Path.Combine(work, TextTokenizer.VocabFileName), Path.Combine(work, TextTokenizer.MergesFileName)],
                Architecture = "gpt2",
            });
            return folder;
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }
}
