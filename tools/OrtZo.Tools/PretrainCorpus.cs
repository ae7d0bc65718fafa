using OrtZo.WeightStore;
using OrtZo.Tasks;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Tools;

/// <summary>
/// The pretraining corpus (tools/pretrain/make_corpus.py's JSONL, one {"source", "text"} document per line) as the
/// tokenizer trainer reads it and as token ids for tools/pretrain/train.py: every document's ids followed by the
/// end-of-text id, as little-endian uint16. Encoding here, with the tokenizer OrtZo itself runs, means the model is
/// pretrained on exactly the ids OrtZo feeds it later.
/// </summary>
internal static class PretrainCorpus
{
    /// <summary>The documents of a corpus file: the "text" field of each line of a .jsonl, else each non-empty line.</summary>
    public static IEnumerable<string> ReadDocuments(string path)
    {
        bool jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            if (!jsonl)
            {
                yield return line;
                continue;
            }
            string? text;
            try
            {
                using var doc = JsonDocument.Parse(line);
                text = doc.RootElement.TryGetProperty("text", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            }
            catch (JsonException e)
            {
                throw TaskErrors.Fail(TaskDataError.InvalidJson, $"{path}:{number}", null, $"not valid JSON ({e.Message})", e);
            }
            if (text is null)
            {
                throw TaskErrors.Fail(TaskDataError.MissingField, $"{path}:{number}", "text", "expected a string field \"text\"");
            }
            if (text.Length > 0) yield return text;
        }
    }

    /// <summary>Opens the byte-level BPE in <paramref name="folder"/> (vocab.json + merges.txt) with
    /// <see cref="ByteBpeTrainer.EndOfText"/> as its end-of-text id, as the importer will read it.</summary>
    public static (TextTokenizer Tokenizer, int EndOfText) OpenTokenizer(string folder)
    {
        foreach (string name in new[] { TextTokenizer.VocabFileName, TextTokenizer.MergesFileName })
        {
            if (!File.Exists(Path.Combine(folder, name)))
            {
                throw OptionErrors.Fail(OptionError.Unusable, "--tokenizer",
                    $"{folder}: no {name}; expected the folder `ortzo make-model bpe --out` wrote (vocab.json and merges.txt)");
            }
        }
        using var vocab = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, TextTokenizer.VocabFileName)));
        if (!vocab.RootElement.TryGetProperty(ByteBpeTrainer.EndOfText, out JsonElement eos))
        {
            throw new OrtZoException(OrtZoErrorKind.InvalidModel, ModelFolderError.InvalidTokenizer,
                $"{folder}: vocab.json has no {ByteBpeTrainer.EndOfText} token", Path.Combine(folder, TextTokenizer.VocabFileName), ByteBpeTrainer.EndOfText,
                hint: "train the tokenizer with `ortzo make-model bpe`, which adds it");
        }
        int eosId = eos.GetInt32();
        var info = new TokenizerInfo { Kind = TextTokenizer.ByteBpeKind, Files = [], EosId = eosId, PadId = eosId };
        return (TextTokenizer.Open(folder, info), eosId);
    }

    /// <summary>
    /// Writes the ids of every document of <paramref name="corpusFiles"/>, each followed by end-of-text, to
    /// <paramref name="outPath"/> (uint16, little-endian; atomically) and a description beside it (<c>.json</c>).
    /// Documents are encoded in parallel and written in order, so the bytes depend only on the inputs.
    /// </summary>
    public static TokenFileSummary Encode(string tokenizerFolder, IReadOnlyList<string> corpusFiles, string outPath)
    {
        (TextTokenizer tokenizer, int eos) = OpenTokenizer(tokenizerFolder);
        if (tokenizer.VocabSize > ushort.MaxValue + 1)
        {
            throw OptionErrors.Fail(OptionError.OutOfRange, "--tokenizer", $"{tokenizer.VocabSize} tokens do not fit the uint16 token file");
        }
        string temp = outPath + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        long tokens = 0, documents = 0;
        var counts = new long[tokenizer.VocabSize];
        try
        {
            using (var output = new BufferedStream(File.Create(temp), 1 << 20))
            {
                foreach (string[] block in corpusFiles.SelectMany(ReadDocuments).Chunk(4096))
                {
                    var ids = new int[block.Length][];
                    Parallel.For(0, block.Length, i => ids[i] = tokenizer.EncodeNoSpecial(block[i]));
                    foreach (int[] doc in ids)
                    {
                        var bytes = new byte[2 * (doc.Length + 1)];
                        for (int i = 0; i <= doc.Length; i++)
                        {
                            int id = i < doc.Length ? doc[i] : eos;
                            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)id);
                            counts[id]++;
                        }
                        output.Write(bytes);
                        tokens += doc.Length + 1;
                        documents++;
                    }
                }
            }
            File.Move(temp, outPath, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        var summary = new TokenFileSummary
        {
            Tokens = tokens,
            Documents = documents,
            VocabSize = tokenizer.VocabSize,
            EndOfTextId = eos,
            Dtype = "uint16",
            UnusedTokenIds = counts.Count(c => c == 0),
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(outPath))),
            TokenizerSha256 = Convert.ToHexStringLower(SHA256.HashData(
                [.. File.ReadAllBytes(Path.Combine(tokenizerFolder, TextTokenizer.VocabFileName)),
                 .. File.ReadAllBytes(Path.Combine(tokenizerFolder, TextTokenizer.MergesFileName))])),
            Sources = [.. corpusFiles.Select(Path.GetFullPath)],
        };
        AtomicFile.WriteAllText(outPath + ".json", JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }) + "\n");
        return summary;
    }
}

/// <summary>What <see cref="PretrainCorpus.Encode"/> wrote (also saved as <c>&lt;token file&gt;.json</c>).</summary>
internal sealed record TokenFileSummary
{
    public long Tokens { get; init; }
    public long Documents { get; init; }
    public int VocabSize { get; init; }
    public int EndOfTextId { get; init; }
    public required string Dtype { get; init; }
    /// <summary>Vocabulary ids that never occur in this file (the held-out slice leaves many; training should leave few).</summary>
    public int UnusedTokenIds { get; init; }
    public required string Sha256 { get; init; }
    public required string TokenizerSha256 { get; init; }
    public required IReadOnlyList<string> Sources { get; init; }
}
