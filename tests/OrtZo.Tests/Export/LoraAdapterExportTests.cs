using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;
using OrtZo.Import;
using OrtZo.Onnx;
using OrtZo.Tests.Onnx;
using OrtZo.Tests.Peft;

namespace OrtZo.Tests.Export;

/// <summary>
/// <c>ortzo export --lora-adapter</c> against ONNX Runtime as the only reader: the base folder run by a plain
/// InferenceSession with the run's file loaded by <c>OrtLoraAdapter.Create</c> and made active with
/// <c>RunOptions.AddActiveLoraAdapter</c> must give the logits of the same run's merged export (written by the
/// other export path, W + (α/r)·B·A folded in double), within 1e-4 as for merged-versus-branch; with no adapter
/// active, the logits of the untouched base model. Any exception from ORT while loading or applying a file fails
/// the test: nothing here catches one. α ≠ r everywhere, so a scale applied twice or not at all shows.
/// </summary>
public class LoraAdapterExportTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("lora-adapter");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Out(string name) => Path.Combine(_temp.Path, name);

    private PeftOptions Lora(int rank = 8, double alpha = 16, IReadOnlyList<string>? targets = null) =>
        new() { Scheme = PeftScheme.Lora, LoraRank = rank, LoraAlpha = alpha, LoraTargets = targets, CacheFolder = Out("cache") };

    /// <summary>Plain ORT on the base folder with the adapter file active. No allocator: ORT reads the parameters in
    /// place from the mapped file, so raw_data's 8-byte alignment is exercised (a device allocator would copy them;
    /// ORT accepts no CPU allocator there).</summary>
    private static (float[] Values, long[] Shape) WithAdapter(string baseFolder, string adapterFile, long[][] rows)
    {
        using var adapter = OrtLoraAdapter.Create(adapterFile, null);
        return PeftFixtures.ExportedLogits(Path.Combine(baseFolder, "model.onnx"), rows, adapter: adapter);
    }

    private static double Check(string what, float[] expected, float[] actual, double tolerance)
    {
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"{what}: max |Δ logits| {diff:E2}");
        Assert.That(diff, Is.LessThan(tolerance), what);
        return diff;
    }

    [Test]
    public void TheAdapterOnTheBaseGivesTheMergedExportAndTheBaseAloneGivesTheUntunedModel()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora());
        PeftFixtures.Perturb(model, 21, 0.2f);
        var merged = model.Export(Out("a-merged"));
        var report = model.Export(Out("a-base"), new ExportOptions { LoraAdapter = true, AdapterName = "run-a" });
        Assert.That(report.AdapterFile, Is.EqualTo(Path.Combine(report.Folder, "run-a.onnx_adapter")));
        Assert.That(report.Files, Is.EquivalentTo(new[] { "model.onnx", "tokenizer.model", "export.json", "run-a.onnx_adapter" }));
        Assert.That(report.LoraMerged, Is.False);
        Assert.That(merged.AdapterFile, Is.Null);

        var rows = PeftFixtures.RandomRows(3, 16, 512, seed: 22);
        var (expected, _) = PeftFixtures.ExportedLogits(Path.Combine(merged.Folder, "model.onnx"), rows);
        var (actual, shape) = WithAdapter(report.Folder, report.AdapterFile!, rows);
        Assert.That(shape, Is.EqualTo(new long[] { 3, 16, 512 }));
        Check("adapter on the base vs merged export", expected, actual, 1e-4);
        Check("adapter on the base vs the tuned training graph", PeftFixtures.GraphLogits(model, rows).Values, actual, 1e-4);

        using var untuned = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var (baseline, _) = PeftFixtures.GraphLogits(untuned, rows);
        var (bare, _) = PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows);
        Assert.That(bare, Is.EqualTo(baseline), "no adapter: the branch adds x·0·0, bit for bit the base model");
        double effect = PeftFixtures.MaxAbsDiff(baseline, actual);
        TestContext.Out.WriteLine($"the adapter moves logits by up to {effect:F3}");
        Assert.That(effect, Is.GreaterThan(1e-2), "the adapter must matter, or the comparisons prove nothing");

        using var description = JsonDocument.Parse(File.ReadAllText(Path.Combine(report.Folder, "export.json")));
        var layout = description.RootElement.GetProperty("lora_adapter");
        Assert.That(layout.GetProperty("lora_rank").GetInt32(), Is.EqualTo(8));
        Assert.That(layout.GetProperty("tensors").GetArrayLength(), Is.EqualTo(model.ReadWeights().Layout.Slots.Count));
        Assert.That(description.RootElement.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "input_ids", "attention_mask" }));
    }

    /// <summary>
    /// Adapters as ZO training leaves them (A near its kaiming start, B grown from zero by MeZO steps at LoRA's
    /// default step size) rather than perturbed.
    /// </summary>
    [Test]
    public void AfterZoStepsTheAdapterGivesTheMergedExport()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(rank: 8, alpha: 16));
        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl");
        using (var trainer = new ZoTrainer(model, train, new ZoOptions { Optimizer = ZoOptimizer.MeZO, LearningRate = 1e-3, Epsilon = 1e-2, BatchSize = 8, Seed = 5 }))
            for (int i = 0; i < 20; i++) trainer.Step();
        var weights = model.ReadWeights();
        double largestB = weights.Layout.Slots.Where(s => s.Spec.Name.EndsWith(".lora_B", StringComparison.Ordinal))
            .Max(s => weights.ReadFloat32(s.Index).Max(v => Math.Abs(v)));
        TestContext.Out.WriteLine($"after 20 MeZO steps the largest |B| is {largestB:E2}");
        Assert.That(largestB, Is.GreaterThan(0), "training moved B off zero");

        var merged = model.Export(Out("z-merged"));
        var report = model.Export(Out("z-base"), new ExportOptions { LoraAdapter = true, AdapterName = "zo" });
        var rows = PeftFixtures.RandomRows(3, 16, 512, seed: 25);
        var (expected, _) = PeftFixtures.ExportedLogits(Path.Combine(merged.Folder, "model.onnx"), rows);
        var (actual, _) = WithAdapter(report.Folder, report.AdapterFile!, rows);
        Check("after ZO steps: adapter on the base vs merged export", expected, actual, 1e-4);
        Check("after ZO steps: adapter on the base vs the tuned training graph", PeftFixtures.GraphLogits(model, rows).Values, actual, 1e-5);
        using var untuned = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        double effect = PeftFixtures.MaxAbsDiff(PeftFixtures.GraphLogits(untuned, rows).Values, actual);
        TestContext.Out.WriteLine($"after ZO steps the adapter moves logits by up to {effect:E2}");
        Assert.That(effect, Is.GreaterThan(1e-2), "training must have moved the logits well past the tolerance");
    }

    [Test]
    public void TheFileIsWhatOrtReadsFromBytesAndItsParametersAreTheGraphInputs()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(rank: 4, alpha: 3));
        PeftFixtures.Perturb(model, 23, 0.2f);
        var report = model.Export(Out("d-base"), new ExportOptions { LoraAdapter = true, AdapterName = "d" });
        byte[] bytes = File.ReadAllBytes(report.AdapterFile!);
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 4, 4), Is.EqualTo("TORT"), "flatbuffer file identifier");
        using var adapter = OrtLoraAdapter.Create(bytes, null);

        using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(Path.Combine(report.Folder, "model.onnx"), so);
        var lora = model.ReadWeights().Layout.Slots.Select(s => s.Spec).ToList();
        foreach (var spec in lora)
        {
            Assert.That(session.InputMetadata.ContainsKey(spec.Name) || session.OverridableInitializerMetadata.ContainsKey(spec.Name), spec.Name);
        }
        var rows = PeftFixtures.RandomRows(2, 12, 512, seed: 24);
        var (fromBytes, _) = PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows, adapter: adapter);
        var (fromFile, _) = WithAdapter(report.Folder, report.AdapterFile!, rows);
        Assert.That(fromBytes, Is.EqualTo(fromFile), "the same bytes loaded two ways");
        Check("rank 4, α 3: adapter vs the tuned graph", PeftFixtures.GraphLogits(model, rows).Values, fromFile, 1e-4);
    }

    /// <summary>
    /// The flatbuffer read by hand from the schema (root → Adapter; field 3 → [Parameter]; Parameter fields name,
    /// dims, data_type, raw_data): format_version 1, one parameter per run tensor with the run's A and (α/r)·B,
    /// and every raw_data starting on an 8-byte boundary of the file as force_align: 8 asks (x86 would not notice).
    /// </summary>
    [Test]
    public void TheFileHoldsAAndScaledBWithEightByteAlignedData()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(rank: 8, alpha: 12));
        PeftFixtures.Perturb(model, 27, 0.2f);
        var report = model.Export(Out("g-base"), new ExportOptions { LoraAdapter = true, AdapterName = "g" });
        byte[] file = File.ReadAllBytes(report.AdapterFile!);
        int root = U32(file, 0);
        Assert.That(Field(file, root, 0) is int v ? I32(file, v) : 0, Is.EqualTo(1), "format_version");
        int parameters = Field(file, root, 3) ?? throw new AssertionException("no parameters");
        parameters += U32(file, parameters);
        var weights = model.ReadWeights();
        Assert.That(U32(file, parameters), Is.EqualTo(weights.Layout.Slots.Count));
        for (int i = 0; i < U32(file, parameters); i++)
        {
            int at = parameters + 4 + 4 * i;
            int p = at + U32(file, at);
            int nameAt = Field(file, p, 0)!.Value;
            nameAt += U32(file, nameAt);
            string name = System.Text.Encoding.UTF8.GetString(file, nameAt + 4, U32(file, nameAt));
            var spec = weights.Layout.Slots[weights.Layout.IndexOf(name)].Spec;
            int dimsAt = Field(file, p, 1)!.Value;
            dimsAt += U32(file, dimsAt);
            var dims = Enumerable.Range(0, U32(file, dimsAt)).Select(d => BitConverter.ToInt64(file, dimsAt + 4 + 8 * d)).ToArray();
            Assert.That(dims, Is.EqualTo(spec.Shape), name);
            Assert.That(I32(file, Field(file, p, 2)!.Value), Is.EqualTo(1), $"{name}: ONNX FLOAT");
            int dataAt = Field(file, p, 3)!.Value;
            dataAt += U32(file, dataAt);
            Assert.That((dataAt + 4) % 8, Is.Zero, $"{name}: raw_data alignment");
            Assert.That(U32(file, dataAt), Is.EqualTo(spec.ByteLength), name);
            var stored = new float[spec.ElementCount];
            Buffer.BlockCopy(file, dataAt + 4, stored, 0, (int)spec.ByteLength);
            var run = weights.ReadFloat32(weights.Layout.IndexOf(name));
            float scale = name.EndsWith(".lora_B", StringComparison.Ordinal) ? 12f / 8f : 1f;
            Assert.That(stored, Is.EqualTo(run.Select(x => x * scale).ToArray()), name);
        }
    }

    private static int U32(byte[] b, int at) => checked((int)BitConverter.ToUInt32(b, at));

    private static int I32(byte[] b, int at) => BitConverter.ToInt32(b, at);

    /// <summary>A table field's absolute position, or null when the vtable leaves it out (the default).</summary>
    private static int? Field(byte[] b, int table, int id)
    {
        int vtable = table - I32(b, table);
        int vtableSize = BitConverter.ToUInt16(b, vtable);
        if (4 + 2 * id >= vtableSize) return null;
        int offset = BitConverter.ToUInt16(b, vtable + 4 + 2 * id);
        return offset == 0 ? null : table + offset;
    }

    [Test]
    public void TwoRunsShareOneBaseAndEachAdapterGivesItsOwnMergedExport()
    {
        string folder = Out("b-base");
        using var first = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(alpha: 16));
        using var second = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(alpha: 4, targets: ["q_proj", "v_proj"]) with { InitSeed = 99 });
        PeftFixtures.Perturb(first, 31, 0.2f);
        PeftFixtures.Perturb(second, 32, 0.2f);
        var mergedFirst = first.Export(Out("b-merged-1"));
        var mergedSecond = second.Export(Out("b-merged-2"));

        var one = first.Export(folder, new ExportOptions { LoraAdapter = true, AdapterName = "one" });
        var hashes = PeftFixtures.FolderHashes(folder);
        var two = second.Export(folder, new ExportOptions { LoraAdapter = true, AdapterName = "two" });
        Assert.That(two.Files, Is.EqualTo(new[] { "two.onnx_adapter" }), "the second export only adds its adapter");
        var after = PeftFixtures.FolderHashes(folder);
        Assert.That(after.Keys, Is.EquivalentTo(hashes.Keys.Append("two.onnx_adapter")));
        foreach (var (file, hash) in hashes) Assert.That(after[file], Is.EqualTo(hash), $"{file} is untouched");
        Assert.That(Directory.GetFiles(folder, "*.onnx_adapter").Select(Path.GetFileName), Is.EquivalentTo(new[] { "one.onnx_adapter", "two.onnx_adapter" }));

        var rows = PeftFixtures.RandomRows(3, 16, 512, seed: 33);
        var (withOne, _) = WithAdapter(folder, one.AdapterFile!, rows);
        var (withTwo, _) = WithAdapter(folder, two.AdapterFile!, rows);
        Check("adapter one (α 16) vs its merged export", PeftFixtures.ExportedLogits(Path.Combine(mergedFirst.Folder, "model.onnx"), rows).Values, withOne, 1e-4);
        Check("adapter two (α 4) vs its merged export", PeftFixtures.ExportedLogits(Path.Combine(mergedSecond.Folder, "model.onnx"), rows).Values, withTwo, 1e-4);
        double apart = PeftFixtures.MaxAbsDiff(withOne, withTwo);
        TestContext.Out.WriteLine($"the two adapters' logits differ by up to {apart:F3}");
        Assert.That(apart, Is.GreaterThan(1e-2), "switching adapters must change the logits");
    }

    [Test]
    public void AnotherBaseOrLayoutIsRefusedNamingTheField()
    {
        string folder = Out("c-base");
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora()))
        {
            PeftFixtures.Perturb(model, 41, 0.2f);
            model.Export(folder, new ExportOptions { LoraAdapter = true, AdapterName = "first" });
        }
        var before = PeftFixtures.FolderHashes(folder);
        string description = Path.Combine(folder, "export.json");

        void Refused(ZoModel model, string name, string field)
        {
            var e = Assert.Throws<OrtZoException>(() => model.Export(folder, new ExportOptions { LoraAdapter = true, AdapterName = name }))!;
            TestContext.Out.WriteLine(e.Message);
            Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.OutputExists));
            Assert.That(e.Subject, Is.EqualTo(field));
            Assert.That(e.Message, Does.Contain(field).And.Contain(folder));
            Assert.That(PeftFixtures.FolderHashes(folder), Is.EqualTo(before), "nothing written");
        }

        using (var rank = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(rank: 4)))
            Refused(rank, "rank", "lora_adapter.lora_rank");
        using (var targets = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora(targets: ["q_proj", "k_proj", "v_proj"])))
            Refused(targets, "targets", "lora_adapter.tensors");

        string changed = Out("c-changed-weights");
        ExportTests.CopyFolder(TestPaths.Stories260k, changed);
        using (var weights = new FileStream(Path.Combine(changed, "weights.safetensors"), FileMode.Open, FileAccess.ReadWrite))
        {
            weights.Seek(-1, SeekOrigin.End);
            int last = weights.ReadByte();
            weights.Seek(-1, SeekOrigin.End);
            weights.WriteByte((byte)(last ^ 1));
        }
        using (var otherWeights = ZoModel.Open(changed, threads: 2, peft: Lora()))
            Refused(otherWeights, "weights", "lora_adapter.base_weights_sha256");

        using (var again = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora()))
        {
            var e = Assert.Throws<OrtZoException>(() => again.Export(folder, new ExportOptions { LoraAdapter = true, AdapterName = "first" }))!;
            Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.OutputExists));
            Assert.That(e.Message, Does.Contain("first.onnx_adapter").And.Contain("already exists"));
            Assert.That(PeftFixtures.FolderHashes(folder), Is.EqualTo(before));
        }
    }

    [Test]
    public void APlainExportOrAForeignFolderIsNotReplacedByABase()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora());
        string plain = Out("e-plain");
        model.Export(plain);
        var e = Assert.Throws<OrtZoException>(() => model.Export(plain, new ExportOptions { LoraAdapter = true }))!;
        Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.OutputExists));
        Assert.That(e.Subject, Is.EqualTo("lora_adapter"));
        Assert.That(e.File, Is.EqualTo(Path.Combine(plain, "export.json")));

        string foreign = Out("e-foreign");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "keep me");
        e = Assert.Throws<OrtZoException>(() => model.Export(foreign, new ExportOptions { LoraAdapter = true }))!;
        Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.OutputExists));
        Assert.That(File.ReadAllText(Path.Combine(foreign, "notes.txt")), Is.EqualTo("keep me"));
    }

    [Test]
    public void OnlyLoraRunsHaveAdaptersAndTheNameMustBeAFileName()
    {
        using var full = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var e = Assert.Throws<OrtZoException>(() => full.Export(Out("f-full"), new ExportOptions { LoraAdapter = true }))!;
        Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.InvalidOption));
        Assert.That(e.Subject, Is.EqualTo("LoraAdapter"));
        Assert.That(e.Message, Does.Contain("full"));

        using var lora = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora());
        foreach (string bad in new[] { "", "..", "a/b", ".hidden" })
        {
            e = Assert.Throws<OrtZoException>(() => lora.Export(Out("f-lora"), new ExportOptions { LoraAdapter = true, AdapterName = bad }))!;
            Assert.That(e.Kind, Is.EqualTo(OrtZoErrorKind.InvalidOption), bad);
            Assert.That(e.Subject, Is.EqualTo("AdapterName"), bad);
        }
        Assert.That(Directory.Exists(Out("f-lora")), Is.False);
    }

    /// <summary>Graphs nobody here wrote: transformers' Llama (external data) and Qwen2 (tied embeddings, GQA).</summary>
    [TestCase("llama")]
    [TestCase("qwen2")]
    public void HfExportsAdapterGivesTheMergedExport(string export)
    {
        string source = TestPaths.HfExport(export);
        string folder = Out("hf-" + export);
        ModelImport.Import(source, folder);
        using var model = ZoModel.Open(folder, threads: 2, peft: Lora(rank: 4, alpha: 32));
        PeftFixtures.Perturb(model, 51, 0.1f);
        var merged = model.Export(Out($"hf-{export}-merged"));
        var report = model.Export(Out($"hf-{export}-base"), new ExportOptions { LoraAdapter = true });
        Assert.That(Path.GetFileName(report.AdapterFile), Is.EqualTo($"hf-{export}.onnx_adapter"), "named after the model folder by default");

        var rows = PeftFixtures.RandomRows(2, 20, 1024, seed: 52);
        var (expected, _) = PeftFixtures.ExportedLogits(Path.Combine(merged.Folder, "model.onnx"), rows);
        var (actual, _) = WithAdapter(report.Folder, report.AdapterFile!, rows);
        Check($"{export}: adapter on the base vs merged export", expected, actual, 1e-4);

        using var untuned = ZoModel.Open(folder, threads: 2);
        var (baseline, _) = PeftFixtures.GraphLogits(untuned, rows);
        Assert.That(PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows).Values, Is.EqualTo(baseline), "no adapter: bit for bit the base model");
        double effect = PeftFixtures.MaxAbsDiff(baseline, actual);
        TestContext.Out.WriteLine($"{export}: the adapter moves logits by up to {effect:F3}");
        Assert.That(effect, Is.GreaterThan(1e-2));
    }
}
