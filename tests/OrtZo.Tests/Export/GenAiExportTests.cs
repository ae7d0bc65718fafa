#if !ORTZO_GPU
using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;
using NUnit.Framework;
using OrtZo.Generation;
using OrtZo.Import;
using OrtZo.Tests.Onnx;
using OrtZo.Tests.Peft;
using OrtZo.Tools;

namespace OrtZo.Tests.Export;

/// <summary>
/// <c>ortzo export --format genai</c> read by onnxruntime-genai itself (the Microsoft.ML.OnnxRuntimeGenAI package):
/// the folder must load, GenAI's logits for a prompt and for single tokens appended after it (each step fed through
/// the KV cache GenAI keeps) must equal plain ONNX Runtime's logits of the plain export of the same tuned model,
/// which recomputes the whole sequence without a cache, and GenAI's greedy search must pick the tokens of ortzo's
/// own recompute loop (<see cref="TextGenerator"/> without its cache). Models are tuned by MeZO steps first, so
/// the weights are not the ones the graph was imported with.
/// </summary>
public class GenAiExportTests
{
    private const double Tolerance = 1e-4;

    private TempFolder _temp = null!;
    private ImportedHfExports _imported = null!;

    [OneTimeSetUp]
    public void CreateTemp()
    {
        _temp = new TempFolder("genai-export");
        _imported = new ImportedHfExports(_temp.Path);
    }

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Out(string name) => Path.Combine(_temp.Path, name);

    private string Imported(string export) => _imported[export];

    private PeftOptions Peft(PeftScheme scheme) => new() { Scheme = scheme, CacheFolder = Out("cache") };

    /// <summary>MeZO steps at the scheme's default step size on a multiple-choice task.</summary>
    private static void Tune(ZoModel model, string taskFile, int steps = 10, ulong seed = 3)
    {
        var (lr, eps) = PeftOptions.DefaultHyperparameters(model.PeftState?.Options.Scheme ?? PeftScheme.Full);
        var task = TaskData.Load(taskFile, "jsonl");
        using var trainer = new ZoTrainer(model, task, new ZoOptions { Optimizer = ZoOptimizer.MeZO, LearningRate = lr, Epsilon = eps, BatchSize = 8, Seed = seed });
        for (int i = 0; i < steps; i++) trainer.Step();
    }

    private static string StoriesTask => PeftFixtures.Split("train");

    private static string HfTask(string export) => Path.Combine(TestPaths.HfExport(export), "task.jsonl");

    /// <summary>
    /// GenAI's logits for <paramref name="prompt"/> and then for each of <paramref name="follow"/> appended one at a
    /// time, against plain ORT on the plain export's graph run once over the whole sequence: position p of that run
    /// is what the model predicts after p + 1 tokens. Returns the largest |Δ| and the number of steps compared.
    /// </summary>
    private static (double MaxDiff, int Steps) CompareLogits(string genAiFolder, string plainModel, int[] prompt, int[] follow)
    {
        using var model = new Model(genAiFolder);
        return CompareLogits(model, null, plainModel, prompt, follow);
    }

    /// <summary>As above on a loaded model, with <paramref name="setUp"/> applied to the generator first (an active adapter).</summary>
    private static (double MaxDiff, int Steps) CompareLogits(Model model, Action<Generator>? setUp, string plainModel, int[] prompt, int[] follow)
    {
        long[] all = prompt.Concat(follow).Select(t => (long)t).ToArray();
        var (expected, shape) = PeftFixtures.ExportedLogits(plainModel, [all]);
        var actual = StepLogits(model, setUp, prompt, follow, (int)shape[2]);
        double max = 0;
        foreach (var (first, values) in actual)
            max = Math.Max(max, PeftFixtures.MaxAbsDiff(expected.AsSpan(first * (int)shape[2], values.Length), values));
        return (max, actual.Count);
    }

    /// <summary>
    /// GenAI's logits after the prompt and after each single token appended to it (a step through its KV cache):
    /// per step, the first position returned and the values, [positions, vocab] flattened.
    /// </summary>
    private static List<(int First, float[] Values)> StepLogits(Model model, Action<Generator>? setUp, int[] prompt, int[] follow, int vocab)
    {
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Length + follow.Length + 1);
        using var generator = new Generator(model, parameters);
        setUp?.Invoke(generator);
        var steps = new List<(int, float[])>();
        int appended = 0;
        foreach (var chunk in new[] { prompt }.Concat(follow.Select(t => new[] { t })))
        {
            generator.AppendTokens(chunk);
            appended += chunk.Length;
            // GetOutput gives the graph's own logits output of the last run; the 0.20 C# API has no GetLogits.
            using var logits = generator.GetOutput("logits");
            long[] got = logits.Shape();
            Assert.That(got.Length, Is.EqualTo(3), "logits [batch, positions, vocab]");
            Assert.That(got[0], Is.EqualTo(1));
            Assert.That(got[2], Is.EqualTo(vocab));
            Assert.That(got[1], Is.InRange(1, chunk.Length), "GenAI returns logits for the positions it was just fed");
            // The positions returned are the last ones appended.
            steps.Add((appended - (int)got[1], logits.GetData<float>().ToArray()));
        }
        return steps;
    }

    /// <summary>
    /// GenAI's greedy search (genai_config.json's defaults: do_sample false) against <see cref="TextGenerator"/>'s
    /// recompute loop at temperature 0. GenAI stops at EOS; there ortzo's token must be EOS too. Returns the tokens compared.
    /// </summary>
    private static int CompareGreedy(string genAiFolder, ZoModel tuned, int[] prompt, int newTokens)
    {
        using var model = new Model(genAiFolder);
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Length + newTokens);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens(prompt);
        var genai = new List<int>();
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            genai.Add(generator.GetNextTokens()[0]);
        }
        var sequence = generator.GetSequence(0).ToArray();
        Assert.That(sequence, Is.EqualTo(prompt.Concat(genai).ToArray()), "GetSequence is the prompt and the tokens generated");

        using var ours = new TextGenerator(tuned, kvCache: false);
        Assert.That(ours.UsesKvCache, Is.False);
        var expected = ours.Continue(prompt, new SamplingOptions(MaxNewTokens: newTokens, Temperature: 0, StopAtEos: false));
        Assert.That(genai.Count, Is.GreaterThan(0));
        Assert.That(expected.Take(genai.Count), Is.EqualTo(genai), "greedy tokens: ortzo's recompute loop vs GenAI with its KV cache");
        if (genai.Count < newTokens)
            Assert.That(genai[^1], Is.EqualTo(tuned.Tokenizer.EosId ?? 0), "GenAI stopped early, which it does only at its EOS");
        return genai.Count;
    }

    private static int[][] Prompts(int vocab, int seed, params int[] lengths)
    {
        var random = new Random(seed);
        return lengths.Select(l => Enumerable.Range(0, l).Select(_ => random.Next(3, vocab)).ToArray()).ToArray();
    }

    /// <summary>Exports both forms, runs the logits and greedy comparisons, prints the figures; returns the GenAI folder.</summary>
    private string CheckBothForms(string what, ZoModel tuned, bool mergeLora = true, int greedyTokens = 12)
    {
        var report = tuned.Export(Out(what + "-genai"), mergeLora: mergeLora, genAi: true);
        var plain = tuned.Export(Out(what + "-plain"), mergeLora: mergeLora);
        Assert.That(report.Files, Does.Contain("model.onnx").And.Contain("genai_config.json").And.Contain("export.json"));
        using (var loaded = new Model(report.Folder))
            Assert.That(loaded, Is.Not.Null);

        int vocab = tuned.Folder.Manifest.VocabSize;
        double max = 0;
        int steps = 0;
        var prompts = Prompts(vocab, seed: what.Length, 7, 12, 3);
        var follows = Prompts(vocab, seed: what.Length + 1, 6, 6, 6);
        for (int i = 0; i < prompts.Length; i++)
        {
            var (diff, n) = CompareLogits(report.Folder, Path.Combine(plain.Folder, "model.onnx"), prompts[i], follows[i]);
            max = Math.Max(max, diff);
            steps += n;
        }
        TestContext.Out.WriteLine($"{what}: GenAI vs plain ORT on the plain export, {steps} steps ({prompts.Length} prompts, then single tokens through the cache): max |Δlogit| {max:E2}");
        Assert.That(max, Is.LessThan(Tolerance), what);

        int compared = 0;
        foreach (var prompt in Prompts(vocab, seed: what.Length + 2, 5, 9, 14))
            compared += CompareGreedy(report.Folder, tuned, prompt, greedyTokens);
        TestContext.Out.WriteLine($"{what}: greedy continuation, {compared} tokens equal to ortzo's recompute loop");
        Assert.That(compared, Is.GreaterThanOrEqualTo(20), "enough tokens compared to mean something");
        return report.Folder;
    }

    private static JsonElement Config(string folder) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "genai_config.json"))).RootElement.Clone();

    [Test]
    public void Stories260kAfterMeZoStepsGivesThePlainExportsLogitsAndGreedyTokens()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        Tune(model, StoriesTask);
        string folder = CheckBothForms("stories260k", model, greedyTokens: 24);

        // The shape facts from the llama2.c header (dim 64, 8 heads, 4 KV heads, 5 layers, vocabulary 512, 512 positions),
        // not from anything the export computed.
        var config = Config(folder);
        var m = config.GetProperty("model");
        var decoder = m.GetProperty("decoder");
        Assert.That(m.GetProperty("type").GetString(), Is.EqualTo("llama"));
        Assert.That(m.GetProperty("context_length").GetInt32(), Is.EqualTo(512));
        Assert.That(m.GetProperty("vocab_size").GetInt32(), Is.EqualTo(512));
        Assert.That(m.GetProperty("bos_token_id").GetInt32(), Is.EqualTo(1));
        Assert.That(m.GetProperty("eos_token_id").GetInt32(), Is.EqualTo(2));
        Assert.That(decoder.GetProperty("num_hidden_layers").GetInt32(), Is.EqualTo(5));
        Assert.That(decoder.GetProperty("num_attention_heads").GetInt32(), Is.EqualTo(8));
        Assert.That(decoder.GetProperty("num_key_value_heads").GetInt32(), Is.EqualTo(4));
        Assert.That(decoder.GetProperty("head_size").GetInt32(), Is.EqualTo(8));
        Assert.That(config.GetProperty("search").GetProperty("do_sample").GetBoolean(), Is.False);

        using var description = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "export.json")));
        Assert.That(description.RootElement.GetProperty("export_format").GetString(), Is.EqualTo("genai"));
        Assert.That(Directory.GetFiles(folder).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "model.onnx", "genai_config.json", "tokenizer.json", "tokenizer_config.json", "export.json" }));

        // GenAI's tokenizer from the folder encodes as the model's own.
        using var genai = new Model(folder);
        using var tokenizer = new Tokenizer(genai);
        const string text = "Once upon a time, there was a little girl named Lily.";
        using var sequences = tokenizer.Encode(text);
        Assert.That(sequences[0].ToArray(), Is.EqualTo(model.Tokenizer.EncodeNoSpecial(text)));
    }

    [TestCase("llama")]
    [TestCase("qwen2")]
    public void HfExportAfterMeZoStepsGivesThePlainExportsLogitsAndGreedyTokens(string export)
    {
        using var model = ZoModel.Open(Imported(export), threads: 2);
        Tune(model, HfTask(export));
        string folder = CheckBothForms(export, model);

        using var hf = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.HfExport(export), "config.json")));
        var source = hf.RootElement;
        var m = Config(folder).GetProperty("model");
        var decoder = m.GetProperty("decoder");
        Assert.That(m.GetProperty("type").GetString(), Is.EqualTo(source.GetProperty("model_type").GetString()));
        Assert.That(decoder.GetProperty("num_hidden_layers").GetInt32(), Is.EqualTo(source.GetProperty("num_hidden_layers").GetInt32()));
        Assert.That(decoder.GetProperty("num_attention_heads").GetInt32(), Is.EqualTo(source.GetProperty("num_attention_heads").GetInt32()));
        Assert.That(decoder.GetProperty("num_key_value_heads").GetInt32(), Is.EqualTo(source.GetProperty("num_key_value_heads").GetInt32()));
        Assert.That(decoder.GetProperty("head_size").GetInt32() * decoder.GetProperty("num_attention_heads").GetInt32(),
            Is.EqualTo(source.GetProperty("hidden_size").GetInt32()));
        Assert.That(m.GetProperty("vocab_size").GetInt32(), Is.EqualTo(source.GetProperty("vocab_size").GetInt32()));
    }

    /// <summary>
    /// GPT-2's layout (fused c_attn, learned positions) has no GenAI type of its own that fits (GenAI's gpt2 type
    /// wants one combined past tensor per layer), so it goes out as the generic "decoder"; with position_ids as an
    /// input GenAI feeds the absolute positions, without one the graph offsets its own by the cache length.
    /// </summary>
    /// <summary>
    /// A GenAI model imported (its caches emptied for scoring) and tuned goes back with its own cache path restored:
    /// GPT-2's fused Attention op with one combined past_%d per layer, which only GenAI's gpt2 type feeds.
    /// </summary>
    [Test]
    public void AnImportedGenAiModelGoesBackWithItsOwnCache()
    {
        string folder = Out("import-genai-gpt2");
        ModelImport.Import(Path.Combine(TestPaths.Fixtures, "genai", "tiny-random-gpt2-fp32"), folder);
        using var model = ZoModel.Open(folder, threads: 2);
        PeftFixtures.Perturb(model, 17, 0.02f);
        string genai = CheckBothForms("genai-gpt2-restored", model);
        var m = Config(genai).GetProperty("model");
        Assert.That(m.GetProperty("type").GetString(), Is.EqualTo("gpt2"));
        var decoder = m.GetProperty("decoder");
        Assert.That(decoder.GetProperty("inputs").GetProperty("past_names").GetString(), Is.EqualTo("past_%d"));
        Assert.That(decoder.GetProperty("outputs").GetProperty("present_names").GetString(), Is.EqualTo("present_%d"));
        Assert.That(decoder.GetProperty("num_hidden_layers").GetInt32(), Is.EqualTo(5));
        Assert.That(File.Exists(Path.Combine(genai, "tokenizer.json")), Is.False, "the fixture has no tokenizer to write");
    }

    /// <summary>
    /// The GenAI builder's GroupQueryAttention model with fp16 weights, caches and logits, restored the same way.
    /// GenAI's C# tensor API reads float32 only, so this compares greedy tokens (GenAI's cached search against
    /// ortzo's recompute loop), not logits.
    /// </summary>
    [Test]
    public void AnImportedGroupQueryAttentionModelGoesBackWithItsOwnCache()
    {
        string folder = Out("import-genai-qwen35");
        ModelImport.Import(Path.Combine(TestPaths.Fixtures, "genai", "tiny-qwen35-cuda"), folder);
        using var model = ZoModel.Open(folder, threads: 2);
        PeftFixtures.Perturb(model, 19, 0.02f);
        var report = model.Export(Out("genai-qwen35-restored"), genAi: true);
        var decoder = Config(report.Folder).GetProperty("model").GetProperty("decoder");
        Assert.That(decoder.GetProperty("inputs").GetProperty("past_key_names").GetString(), Is.EqualTo("past_key_values.%d.key"));
        Assert.That(decoder.GetProperty("session_options").GetProperty("provider_options").GetArrayLength(), Is.Zero, "the source's CUDA options are not carried over");
        int compared = 0;
        foreach (var prompt in Prompts(model.Folder.Manifest.VocabSize, seed: 23, 5, 9, 14))
            compared += CompareGreedy(report.Folder, model, prompt, 12);
        TestContext.Out.WriteLine($"genai-qwen35-restored: greedy continuation, {compared} tokens equal to ortzo's recompute loop");
        Assert.That(compared, Is.GreaterThanOrEqualTo(20));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Gpt2LayoutGoesOutAsTheGenericDecoderType(bool positionIdsInput)
    {
        string folder = PeftFixtures.TinyGpt(Out($"tiny-gpt-{positionIdsInput}"),
            new TinyGptConfig { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 48, Seed = 5, PositionIdsInput = positionIdsInput });
        using var model = ZoModel.Open(folder, threads: 2);
        // Stands in for training: the tiny tokenizer cannot encode the task texts.
        PeftFixtures.Perturb(model, 9, 0.02f);
        string genai = CheckBothForms($"tiny-gpt2{(positionIdsInput ? "-position-ids" : "")}", model);
        var m = Config(genai).GetProperty("model");
        Assert.That(model.Folder.Manifest.Architecture, Is.EqualTo("gpt2"));
        Assert.That(m.GetProperty("type").GetString(), Is.EqualTo("decoder"));
        Assert.That(m.GetProperty("decoder").GetProperty("inputs").TryGetProperty("position_ids", out _), Is.EqualTo(positionIdsInput));
        Assert.That(m.GetProperty("decoder").GetProperty("num_hidden_layers").GetInt32(), Is.EqualTo(2));
        Assert.That(m.GetProperty("decoder").GetProperty("num_attention_heads").GetInt32(), Is.EqualTo(4));
        Assert.That(m.GetProperty("decoder").GetProperty("head_size").GetInt32(), Is.EqualTo(16));
    }

    [Test]
    public void PrefixTunedStories260kGivesThePlainExportsLogits()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Peft(PeftScheme.Prefix));
        Tune(model, StoriesTask);
        CheckBothForms("stories260k-prefix", model);
    }

    [Test]
    public void UnmergedLoraStories260kGivesThePlainExportsLogits()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Peft(PeftScheme.Lora));
        Tune(model, StoriesTask);
        var weights = model.ReadWeights();
        Assert.That(weights.Layout.Slots.Where(s => s.Spec.Name.EndsWith(".lora_B", StringComparison.Ordinal))
            .Max(s => weights.ReadFloat32(s.Index).Max(v => Math.Abs(v))), Is.GreaterThan(0), "MeZO moved B off zero, so the branch is live");
        string folder = CheckBothForms("stories260k-lora", model, mergeLora: false);
        using var description = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "export.json")));
        Assert.That(description.RootElement.GetProperty("lora_merged").GetBoolean(), Is.False);
    }

    [Test]
    public void MergedLoraQwen2GivesThePlainExportsLogits()
    {
        using var model = ZoModel.Open(Imported("qwen2"), threads: 2, peft: Peft(PeftScheme.Lora));
        Tune(model, HfTask("qwen2"));
        CheckBothForms("qwen2-lora-merged", model);
    }

    /// <summary>
    /// <c>--format genai --lora-adapter</c>: one cached base for two LoRA runs, each run's .onnx_adapter beside it.
    /// GenAI with an adapter made active on its generator must give that run's merged plain export (LoRA folded into
    /// the weights, no adapter machinery, no cache), without one the untuned base model, and the two runs must differ
    /// well past the tolerance so that a wrong adapter would show.
    /// </summary>
    [Test]
    public void TwoLoraAdaptersOnOneGenAiBaseEachGiveTheirMergedExport()
    {
        string baseFolder = Out("adapters-genai");
        var merged = new Dictionary<string, string>();
        var files = new Dictionary<string, string>();
        foreach (var (name, seed) in new[] { ("run-a", 5UL), ("run-b", 6UL) })
        {
            using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Peft(PeftScheme.Lora));
            Tune(model, StoriesTask, steps: 20, seed: seed);
            var report = model.Export(baseFolder, new ExportOptions { Format = ExportFormat.GenAi, LoraAdapter = true, AdapterName = name });
            files[name] = report.AdapterFile!;
            if (name == "run-a")
                Assert.That(report.Files, Is.EquivalentTo(new[] { "model.onnx", "genai_config.json", "tokenizer.json", "tokenizer_config.json", "export.json", "run-a.onnx_adapter" }));
            else
                Assert.That(report.Files, Is.EqualTo(new[] { "run-b.onnx_adapter" }), "the second run only adds its adapter");
            merged[name] = Path.Combine(model.Export(Out(name + "-merged")).Folder, "model.onnx");
        }
        using (var untuned = ZoModel.Open(TestPaths.Stories260k, threads: 2))
            merged[""] = Path.Combine(untuned.Export(Out("untuned-plain")).Folder, "model.onnx");

        using var genai = new Model(baseFolder);
        using var adapters = new Adapters(genai);
        foreach (var (name, file) in files) adapters.LoadAdapter(file, name);
        var prompts = Prompts(512, seed: 41, 7, 12);
        var follows = Prompts(512, seed: 42, 6, 6);
        foreach (var name in new[] { "run-a", "run-b", "" })
        {
            Action<Generator>? setUp = name.Length == 0 ? null : g => g.SetActiveAdapter(adapters, name);
            double max = 0;
            int steps = 0;
            for (int i = 0; i < prompts.Length; i++)
            {
                var (diff, n) = CompareLogits(genai, setUp, merged[name], prompts[i], follows[i]);
                max = Math.Max(max, diff);
                steps += n;
            }
            string what = name.Length == 0 ? "no adapter vs the untuned model's plain export" : $"adapter {name} vs its merged plain export";
            TestContext.Out.WriteLine($"GenAI LoRA adapters, {what}, {steps} steps: max |Δlogit| {max:E2}");
            Assert.That(max, Is.LessThan(Tolerance), what);
        }

        var a = StepLogits(genai, g => g.SetActiveAdapter(adapters, "run-a"), prompts[0], follows[0], 512);
        var b = StepLogits(genai, g => g.SetActiveAdapter(adapters, "run-b"), prompts[0], follows[0], 512);
        double apart = a.Zip(b).Max(p => PeftFixtures.MaxAbsDiff(p.First.Values, p.Second.Values));
        TestContext.Out.WriteLine($"GenAI LoRA adapters: run-a and run-b differ by up to {apart:E2}");
        Assert.That(apart, Is.GreaterThan(1e-2), "the adapters must differ, or the comparisons prove nothing");
    }

    [Test]
    public void AnAdapterIsNotAddedToABaseOfTheOtherForm()
    {
        string plainBase = Out("adapters-plain");
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Peft(PeftScheme.Lora));
        model.Export(plainBase, new ExportOptions { LoraAdapter = true, AdapterName = "one" });
        var e = Assert.Throws<OrtZoException>(() => model.Export(plainBase, new ExportOptions { Format = ExportFormat.GenAi, LoraAdapter = true, AdapterName = "two" }))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain("export_format").And.Contain("genai"));
        Assert.That(File.Exists(Path.Combine(plainBase, "two.onnx_adapter")), Is.False);
    }

    /// <summary>
    /// The CLI path end to end, judged by text rather than by another ortzo computation: GenAI's greedy search from
    /// BOS on the exported stories260k, decoded by GenAI's tokenizer from the folder, writes the opening the
    /// llama2.c model is known for.
    /// </summary>
    [Test]
    public void TheCliWritesAFolderGenAiGeneratesStoriesFrom()
    {
        string folder = Out("cli-genai");
        var (code, stdout, stderr) = OrtZo.Tests.Cli.CliRunner.Run("export", "--model", TestPaths.Stories260k, "--out", folder, "--format", "genai");
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("genai_config.json"));

        using var model = new Model(folder);
        using var tokenizer = new Tokenizer(model);
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", 24);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens([1]);
        while (!generator.IsDone()) generator.GenerateNextToken();
        string text = tokenizer.Decode(generator.GetSequence(0).ToArray());
        TestContext.Out.WriteLine($"GenAI from BOS: {text}");
        Assert.That(text.TrimStart(), Does.StartWith("Once upon a time"));
    }

    [Test]
    public void PromptTuningIsRefusedNamingTheScheme()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Peft(PeftScheme.Prompt));
        string target = Out("prompt-genai");
        var e = Assert.Throws<OrtZoException>(() => model.Export(target, genAi: true))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.InvalidOption));
        Assert.That(e.Message, Does.Contain("prompt"));
        Assert.That(Directory.Exists(target), Is.False, "nothing is written");
        Assert.That(model.Export(Out("prompt-plain")).Files, Does.Contain("model.onnx"), "the plain form still exports it");
    }
}
#endif
