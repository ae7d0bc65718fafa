using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;

using OrtZo.Onnx.Model;
using OrtZo.Tasks;
using OrtZo.Tokenization;
using OrtZo.Tools;

namespace OrtZo.Tests.Pretrain;

/// <summary>
/// tools/pretrain/run.sh --dry-run, the pretraining chain on a tiny configuration through the script's own packing,
/// device and finish phases: a corpus slice of the task data's training splits → a byte-level BPE → token files → the
/// carried archive → a few PyTorch steps → fp16 shards → ONNX through tools/export → `ortzo import` → a sample.
/// Then the imported model's scores are checked against the PyTorch checkpoint's own (float64 log-softmax of the same
/// token rows), the token file against the corpus it encodes, and the corpus builder for determinism and for keeping
/// dev and test text out. Needs a python3 with torch and onnx (Debian: python3-torch, python3-onnx; .ci/run installs
/// them); skipped with the reason otherwise.
/// </summary>
public class PretrainDryRunTests
{
    private static string Script => Path.Combine(TestPaths.RepoRoot, "tools", "pretrain", "run.sh");

    [Test]
    [CancelAfter(300_000)]
    public void TheDryRunTrainsExportsAndImportsAModelThatScoresLikePyTorch()
    {
        string python = FindPython() ?? throw new IgnoreException(
            "no python3 with torch and onnx here (Debian: apt-get install python3-torch python3-onnx; .ci/run does it as root)");
        using var output = new OrtZo.Tests.Onnx.TempFolder("pretrain-dry");
        var (code, log) = Run("bash", [Script, "--dry-run"], new()
        {
            ["OUT"] = output.Path,
            ["ORTZO"] = $"dotnet {Path.Combine(AppContext.BaseDirectory, "OrtZo.Cli.dll")}",
            ["PYTHON"] = python,
            ["DRY_STEPS"] = "40",
        });
        Assert.That(code, Is.Zero, log);

        // Training moved: the loss fell from about ln(512) and the held-out perplexity is below the vocabulary size.
        // What the device phase leaves in $OUT is what would come back from the GPU machine: at most 8 files of 16 MiB.
        string[] returned = Directory.GetFiles(Path.Combine(output.Path, "device"));
        Assert.That(returned, Has.Length.InRange(5, 8));
        Assert.That(returned.Select(f => new FileInfo(f).Length), Has.All.LessThanOrEqualTo(16L << 20));
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(output.Path, "device", "train.json")))!;
        var losses = run["losses"]!.AsArray().Select(l => l!["loss"]!.GetValue<double>()).ToArray();
        Assert.That(losses[0], Is.EqualTo(Math.Log(512)).Within(0.3), "an untrained model predicts about uniformly");
        Assert.That(losses[^1], Is.LessThan(losses[0] - 0.5), log);
        Assert.That(run["heldout"]!["perplexity"]!.GetValue<double>(), Is.LessThan(512));
        Assert.That(run["steps"]!.GetValue<int>(), Is.EqualTo(40));

        // The model folder's README states the run's own figures.
        string readme = File.ReadAllText(Path.Combine(output.Path, "model", "README.md"));
        Assert.That(readme, Does.Contain($"**{run["heldout"]!["perplexity"]!.GetValue<double>():F2}**"));
        Assert.That(readme, Does.Contain($"{run["parameters"]!.GetValue<long>():N0} parameters"));

        // The imported model holds exactly the trained parameters and scores candidates as PyTorch does.
        string modelPath = Path.Combine(output.Path, "model");
        var folder = ModelFolder.Open(modelPath);
        var tokenizer = TextTokenizer.Open(modelPath, folder.Manifest.Tokenizer);
        var task = TaskData.Load(Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", "dev.jsonl"), "jsonl").Take(12);
        EncodedExample[] encoded = task.Encode(tokenizer, folder.Manifest.MaxLength);
        var rows = new JsonArray();
        foreach (var e in encoded)
            for (int c = 0; c < e.CandidateCount; c++)
                rows.Add(new JsonObject { ["ids"] = new JsonArray([.. e.Rows[c].Select(i => (JsonNode)i)]), ["scored_from"] = e.ScoredSpan(c).Start });
        File.WriteAllText(Path.Combine(output.Path, "rows.json"), rows.ToJsonString());
        (code, log) = Run(python, [Path.Combine(TestPaths.RepoRoot, "tools", "pretrain", "train.py"), "score",
            "--checkpoint", Path.Combine(output.Path, "work", "checkpoint"), "--rows", Path.Combine(output.Path, "rows.json"),
            "--out", Path.Combine(output.Path, "torch.json")], new());
        Assert.That(code, Is.Zero, log);
        var torch = JsonNode.Parse(File.ReadAllText(Path.Combine(output.Path, "torch.json")))!.AsArray();

        using var model = ZoModel.Open(modelPath);
        Assert.That(model.ParameterCount, Is.EqualTo(run["parameters"]!.GetValue<long>()));
        EvalResult result = model.Evaluate(task, batchSize: 5);   // batches pad rows: scores must not depend on it
        int k = 0;
        double worst = 0;
        foreach (var prediction in result.Predictions)
            foreach (var candidate in prediction.Candidates)
            {
                var expected = torch[k++]!;
                Assert.That(candidate.Tokens, Is.EqualTo(expected["tokens"]!.GetValue<int>()));
                worst = Math.Max(worst, Math.Abs(candidate.Sum - expected["sum"]!.GetValue<double>()));
            }
        Assert.That(k, Is.EqualTo(torch.Count));
        Assert.That(worst, Is.LessThan(2e-4), "OrtZo's candidate log-probabilities against PyTorch's");

        // The token file is the corpus: its documents, split at <|endoftext|>, decode to the corpus texts.
        byte[] bytes = File.ReadAllBytes(Path.Combine(output.Path, "work", "train.u16"));
        var ids = new int[bytes.Length / 2];
        for (int i = 0; i < ids.Length; i++) ids[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
        int eos = folder.Manifest.Tokenizer.EosId!.Value;
        var docs = PretrainCorpus.ReadDocuments(Path.Combine(output.Path, "work", "corpus", "train.jsonl")).ToList();
        Assert.That(ids[^1], Is.EqualTo(eos));
        Assert.That(ids.Count(i => i == eos), Is.EqualTo(docs.Count));
        int start = 0, d = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] != eos) continue;
            if (d % 50 == 0) Assert.That(tokenizer.Decode(ids.AsSpan(start, i - start)), Is.EqualTo(docs[d]), $"document {d}");
            start = i + 1;
            d++;
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public void TheCorpusIsDeterministicAndHoldsNoDevOrTestText()
    {
        using var output = new OrtZo.Tests.Onnx.TempFolder("pretrain-corpus");
        string builder = Path.Combine(TestPaths.RepoRoot, "tools", "pretrain", "make_corpus.py");
        string[] hashes = new string[2];
        for (int i = 0; i < 2; i++)
        {
            string dir = Path.Combine(output.Path, $"c{i}");
            int code;
            string log;
            try { (code, log) = Run("python3", [builder, "--out", dir, "--sources", "tasks"], new()); }
            catch (System.ComponentModel.Win32Exception) { Assert.Ignore("no python3 on the PATH"); return; }
            Assert.That(code, Is.Zero, log);
            hashes[i] = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!["corpus_sha256"]!.GetValue<string>();
        }
        Assert.That(hashes[1], Is.EqualTo(hashes[0]));

        // Every prompt of every dev and test file of the repository's tasks, and of the shared k-shot test sets when
        // present, must be absent from the corpus (as a document or a document's line).
        string corpusDir = Path.Combine(output.Path, "c0");
        var lines = new HashSet<string>(
            PretrainCorpus.ReadDocuments(Path.Combine(corpusDir, "train.jsonl"))
                .Concat(PretrainCorpus.ReadDocuments(Path.Combine(corpusDir, "heldout.jsonl")))
                .SelectMany(doc => doc.Split('\n').Append(doc)).Select(Key));
        var held = new List<string>();
        foreach (string split in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "data"), "*.jsonl", SearchOption.AllDirectories)
                     .Where(p => !p.EndsWith("train.jsonl", StringComparison.Ordinal)))
            held.AddRange(File.ReadLines(split).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!["prompt"]!.GetValue<string>()));
        int trainPrompts = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "data", "spam-assassin", "train.jsonl"))
            .Count(l => l.Length > 0 && lines.Contains(Key(JsonNode.Parse(l)!["prompt"]!.GetValue<string>())));
        Assert.That(trainPrompts, Is.GreaterThan(100), "the training prompts are in the corpus (so the check below can see text)");
        // The k-shot seeds' dev sets are drawn from the same pool as the other seeds' training sets, so they overlap them:
        // the builder must drop those training sentences.
        string kshot = Path.Combine(TestPaths.SharedData, "kshot", "SST-2");
        if (Directory.Exists(kshot))
            foreach (string split in Directory.GetDirectories(kshot))
                foreach (string file in new[] { "dev.tsv", "test.tsv" })
                    held.AddRange(File.ReadLines(Path.Combine(split, file)).Skip(1).Select(l => l.Split('\t')[0]));
        Assert.That(held.Count, Is.GreaterThan(500));
        Assert.That(held.Where(h => lines.Contains(Key(h))).Take(3), Is.Empty);
    }

    [Test]
    public void EncodingWithAFolderThatHoldsNoTokenizerNamesTheOption()
    {
        using var folder = new OrtZo.Tests.Onnx.TempFolder("pretrain-notok");
        File.WriteAllText(folder.File("c.jsonl"), "{\"text\": \"hello\"}\n");
        var e = Assert.Throws<OrtZoException>(() => PretrainCorpus.Encode(folder.Path, [folder.File("c.jsonl")], folder.File("t.u16")))!;
        Assert.That(e.Subject, Is.EqualTo("--tokenizer"));
        Assert.That(e.Message, Does.Contain("vocab.json"));
        Assert.That(File.Exists(folder.File("t.u16")), Is.False);
    }

    [Test]
    public void EncodedIdsAreTheTokenizersFollowedByEndOfTextAndTheDescriptionCountsThem()
    {
        using var folder = new OrtZo.Tests.Onnx.TempFolder("pretrain-encode");
        string[] texts = ["the cat sat on the mat", "the dog sat", "a cat and a dog\nsat on the mat"];
        ByteBpeTrainer.Train(texts, 270).WriteTo(folder.Path);
        File.WriteAllLines(folder.File("c.jsonl"), texts.Select(t => new JsonObject { ["source"] = "x", ["text"] = t }.ToJsonString()));
        var summary = PretrainCorpus.Encode(folder.Path, [folder.File("c.jsonl")], folder.File("t.u16"));
        (TextTokenizer tokenizer, int eos) = PretrainCorpus.OpenTokenizer(folder.Path);
        int[] expected = [.. texts.SelectMany(t => tokenizer.EncodeNoSpecial(t).Append(eos))];
        byte[] bytes = File.ReadAllBytes(folder.File("t.u16"));
        int[] actual = [.. Enumerable.Range(0, bytes.Length / 2).Select(i => bytes[2 * i] | (bytes[2 * i + 1] << 8))];
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(eos, Is.EqualTo(269));
        Assert.That(summary.Tokens, Is.EqualTo(expected.Length));
        Assert.That(summary.Documents, Is.EqualTo(3));
        var described = JsonNode.Parse(File.ReadAllText(folder.File("t.u16.json")))!;
        Assert.That(described["tokens"]!.GetValue<long>(), Is.EqualTo(expected.Length));
        Assert.That(described["sha256"]!.GetValue<string>(),
            Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))));
    }

    private static string Key(string text) => string.Join(' ', text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The first of $ORTZO_PYTHON, python3, /usr/bin/python3 that imports torch and onnx.</summary>
    private static string? FindPython()
    {
        foreach (string? py in new[] { Environment.GetEnvironmentVariable("ORTZO_PYTHON"), "python3", "/usr/bin/python3" })
        {
            if (string.IsNullOrEmpty(py)) continue;
            try
            {
                if (Run(py, ["-c", "import torch, onnx"], new()).Code == 0) return py;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed
            }
        }
        return null;
    }

    private static (int Code, string Log) Run(string file, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.RepoRoot };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
