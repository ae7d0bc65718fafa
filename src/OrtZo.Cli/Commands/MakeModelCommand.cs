using OrtZo.Import;
using OrtZo.Tools;
using System.CommandLine;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Tokenization;

namespace OrtZo.Cli.Commands;

/// <summary>
/// <c>ortzo make-model</c>: builds the project's own small models deterministically — a GPT-style test model
/// with a byte-level BPE trained on a given corpus, or an import of a llama2.c checkpoint (stories260K).
/// Each goes through the same <c>ortzo import</c> path a user's model takes.
/// </summary>
internal static class MakeModelCommand
{
    public static Command Create()
    {
        var command = new Command("make-model", "Build the project's small models (test GPT, llama2.c conversion)");
        command.Subcommands.Add(TinyGpt());
        command.Subcommands.Add(Llama2c());
        command.Subcommands.Add(Bpe());
        command.Subcommands.Add(Encode());
        return command;
    }

    private static Command Bpe()
    {
        var outDir = new Option<string>("--out") { Required = true, Description = "Folder for vocab.json and merges.txt" };
        var corpus = new Option<string[]>("--corpus") { Required = true, Description = "Corpus files: .jsonl (its \"text\" fields) or text (its lines)", AllowMultipleArgumentsPerToken = true };
        var vocab = new Option<int>("--vocab") { DefaultValueFactory = _ => 12288, Description = "Tokens in all: 256 bytes + merges + <|endoftext|>" };
        var command = new Command("bpe", "Train a byte-level BPE (GPT-2 pre-tokenizer) on a corpus, deterministically") { outDir, corpus, vocab };
        command.SetAction(result =>
        {
            var files = result.GetValue(corpus)!.Select(f => CommonOptions.ExistingFile(f, "--corpus")).ToArray();
            var bpe = ByteBpeTrainer.Train(files.SelectMany(PretrainCorpus.ReadDocuments), result.GetValue(vocab));
            bpe.WriteTo(result.GetValue(outDir)!);
            Console.WriteLine($"{bpe.VocabSize} tokens ({bpe.FirstSpecialId - 256} merges, <|endoftext|> = {bpe.FirstSpecialId}) in {Path.GetFullPath(result.GetValue(outDir)!)}");
            return 0;
        });
        return command;
    }

    private static Command Encode()
    {
        var tokenizer = new Option<string>("--tokenizer") { Required = true, Description = "Folder with vocab.json and merges.txt" };
        var corpus = new Option<string[]>("--corpus") { Required = true, Description = "Corpus files: .jsonl (its \"text\" fields) or text (its lines)", AllowMultipleArgumentsPerToken = true };
        var outFile = new Option<string>("--out") { Required = true, Description = "Token file (uint16, each document followed by <|endoftext|>); a .json description is written beside it" };
        var command = new Command("encode", "Encode a corpus into the token file tools/pretrain/train.py reads") { tokenizer, corpus, outFile };
        command.SetAction(result =>
        {
            var files = result.GetValue(corpus)!.Select(f => CommonOptions.ExistingFile(f, "--corpus")).ToArray();
            var summary = PretrainCorpus.Encode(result.GetValue(tokenizer)!, files, result.GetValue(outFile)!);
            Console.WriteLine($"{summary.Tokens:N0} tokens, {summary.Documents:N0} documents, {summary.UnusedTokenIds:N0} of {summary.VocabSize:N0} ids unused; sha256 {summary.Sha256}");
            return 0;
        });
        return command;
    }

    private static Command TinyGpt()
    {
        var outDir = new Option<string>("--out") { Required = true, Description = "Output model folder" };
        var corpus = new Option<string[]>("--corpus") { Required = true, Description = "Text files the BPE tokenizer is trained on", AllowMultipleArgumentsPerToken = true };
        var vocab = new Option<int>("--vocab") { DefaultValueFactory = _ => 512 };
        var dim = new Option<int>("--dim") { DefaultValueFactory = _ => 128 };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 4 };
        var heads = new Option<int>("--heads") { DefaultValueFactory = _ => 4 };
        var maxLength = new Option<int>("--max-length") { DefaultValueFactory = _ => 256 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 1UL };
        var command = new Command("tiny-gpt", "A GPT-2-style decoder with seeded random weights and a trained byte-level BPE")
        {
            outDir, corpus, vocab, dim, layers, heads, maxLength, seed,
        };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            string work = Directory.CreateTempSubdirectory("ortzo-make-").FullName;
            try
            {
                var texts = result.GetValue(corpus)!.Select(f => CommonOptions.ExistingFile(f, "--corpus")).SelectMany(File.ReadLines).Where(l => l.Length > 0);
                var bpe = ByteBpeTrainer.Train(texts, result.GetValue(vocab));
                bpe.WriteTo(work);
                var config = new TinyGptConfig
                {
                    VocabSize = bpe.VocabSize,
                    ModelDim = result.GetValue(dim),
                    Layers = result.GetValue(layers),
                    Heads = result.GetValue(heads),
                    MaxLength = result.GetValue(maxLength),
                    Seed = result.GetValue(seed),
                };
                string onnx = Path.Combine(work, "model.onnx");
                TinyGptBuilder.Write(config, onnx, externalData: false);
                var report = ModelImport.Import(onnx, result.GetValue(outDir)!, new ImportOptions
                {
                    Overwrite = true,
                    Verify = ImportVerification.Forward,
                    Tokenizer = new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = [], EosId = bpe.FirstSpecialId, PadId = bpe.FirstSpecialId },
                    TokenizerFiles = [Path.Combine(work, TextTokenizer.VocabFileName), Path.Combine(work, TextTokenizer.MergesFileName)],
                    Architecture = "gpt2",
                });
                ImportCommand.Print(report);
                return 0;
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        });
        return command;
    }

    private static Command Llama2c()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "llama2.c legacy checkpoint (e.g. stories260K checkpoint_legacy.bin)" };
        var tokenizer = new Option<string>("--tokenizer") { Required = true, Description = "llama2.c tokenizer.bin" };
        var outDir = new Option<string>("--out") { Required = true, Description = "Output model folder" };
        var command = new Command("llama2c", "Convert a llama2.c checkpoint and its tokenizer into an OrtZo model folder") { checkpoint, tokenizer, outDir };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            string work = Directory.CreateTempSubdirectory("ortzo-make-").FullName;
            try
            {
                Llama2cConverter.Convert(result.GetValue(checkpoint)!, work);
                Llama2cTokenizerConverter.Convert(result.GetValue(tokenizer)!, Path.Combine(work, TextTokenizer.SentencePieceFileName));
                var report = ModelImport.Import(work, result.GetValue(outDir)!, new ImportOptions
                {
                    Overwrite = true,
                    Verify = ImportVerification.Forward,
                    Tokenizer = new TokenizerInfo { Kind = TextTokenizer.SentencePieceKind, Files = [], BosId = 1, EosId = 2, UnkId = 0, AddBos = true },
                    TokenizerFiles = [Path.Combine(work, TextTokenizer.SentencePieceFileName)],
                    Architecture = "llama",
                });
                ImportCommand.Print(report);
                return 0;
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        });
        return command;
    }
}
