using OrtZo.Training;
using NUnit.Framework;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>
/// Training through the PEFT rewrites on the shipped model and demo task: each scheme learns with its default step
/// sizes, a ZO-Adam LoRA run resumes bit for bit, checkpoints refuse other base models, saved adapter folders
/// reopen to the same scores, and the base model folder is never written.
/// </summary>
public class PeftTrainingTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("peft-training");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Cache => Path.Combine(_temp.Path, "cache");

    private PeftOptions Options(PeftScheme scheme) => new() { Scheme = scheme, CacheFolder = Cache };

    private static ZoOptions Defaults(PeftScheme scheme, ZoOptimizer optimizer = ZoOptimizer.MeZO)
    {
        var (lr, eps) = PeftOptions.DefaultHyperparameters(scheme);
        return new ZoOptions { Optimizer = optimizer, LearningRate = lr, Epsilon = eps, BatchSize = 16, Seed = 1 };
    }

    [TestCase(PeftScheme.Lora, 60)]
    [TestCase(PeftScheme.Prefix, 60)]
    [TestCase(PeftScheme.Prompt, 60)]
    public void EachSchemeLowersTheDevLossWithItsDefaultStepSizes(PeftScheme scheme, int steps)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(scheme));
        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl");
        var dev = TaskData.Load(PeftFixtures.Split("dev"), "jsonl").Take(100);
        var before = model.Evaluate(dev, 50);
        using (var trainer = new ZoTrainer(model, train, Defaults(scheme)))
        {
            Assert.That(trainer.TrainableParameters, Is.EqualTo(model.ParameterCount), "only the adapters move");
            for (int i = 0; i < steps; i++) trainer.Step();
        }
        var after = model.Evaluate(dev, 50);
        TestContext.Out.WriteLine($"{scheme} ({model.ParameterCount:N0} adapter parameters): dev loss {before.Loss:F4} → {after.Loss:F4}, accuracy {before.Accuracy:P1} → {after.Accuracy:P1} after {steps} steps");
        Assert.That(after.Loss, Is.LessThan(before.Loss - 0.05));
    }

    [Test]
    public void AZoAdamLoraRunResumesBitForBit()
    {
        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl").Take(64);
        var options = Defaults(PeftScheme.Lora, ZoOptimizer.ZoAdam) with { BatchSize = 4, TotalSteps = 8 };
        byte[] straight;
        var straightLosses = new List<double>();
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(PeftScheme.Lora)))
        {
            using (var trainer = new ZoTrainer(model, train, options))
                for (int i = 0; i < 8; i++) straightLosses.Add(trainer.Step().Loss);
            straight = model.ReadWeights().Bytes(0).ToArray().Concat(Enumerable.Range(1, model.ReadWeights().Layout.Slots.Count - 1).SelectMany(s => model.ReadWeights().Bytes(s).ToArray())).ToArray();
        }
        string checkpoint = Path.Combine(_temp.Path, "adam-checkpoint");
        var resumedLosses = new List<double>();
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(PeftScheme.Lora)))
        using (var trainer = new ZoTrainer(model, train, options))
        {
            for (int i = 0; i < 4; i++) resumedLosses.Add(trainer.Step().Loss);
            trainer.SaveCheckpoint(checkpoint);
        }
        Assert.That(File.ReadAllText(Path.Combine(checkpoint, "run.json")), Does.Contain("\"base_model\""));
        Assert.That(new FileInfo(Path.Combine(checkpoint, "weights.safetensors")).Length, Is.LessThan(64 * 1024), "the checkpoint holds the adapters, not the base model");
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(PeftScheme.Lora)))
        {
            using (var trainer = ZoTrainer.Resume(checkpoint, model, train))
            {
                Assert.That(trainer.StepIndex, Is.EqualTo(4));
                for (int i = 0; i < 4; i++) resumedLosses.Add(trainer.Step().Loss);
            }
            var resumed = Enumerable.Range(0, model.ReadWeights().Layout.Slots.Count).SelectMany(s => model.ReadWeights().Bytes(s).ToArray()).ToArray();
            Assert.That(resumedLosses, Is.EqualTo(straightLosses), "every step's loss, bit for bit");
            Assert.That(resumed, Is.EqualTo(straight), "adapters after 8 steps, bit for bit");
        }
    }

    [Test]
    public void ACheckpointRefusesOtherAdaptersOrAnotherBaseModel()
    {
        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl").Take(16);
        var options = Defaults(PeftScheme.Lora) with { BatchSize = 4 };
        string checkpoint = Path.Combine(_temp.Path, "refusing-checkpoint");
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(PeftScheme.Lora)))
        using (var trainer = new ZoTrainer(model, train, options))
        {
            trainer.Step();
            trainer.SaveCheckpoint(checkpoint);
        }
        using (var otherRank = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(PeftScheme.Lora) with { LoraRank = 4 }))
        {
            var e = Assert.Throws<OrtZoException>(() => ZoTrainer.Resume(checkpoint, otherRank, train));
            Assert.That(e!.Message, Does.Contain("run.json").And.Contain("same base model and adapter options"));
        }
        string changed = Path.Combine(_temp.Path, "changed-base");
        Export.ExportTests.CopyFolder(TestPaths.Stories260k, changed);
        using (var full = ZoModel.Open(changed, threads: 2))
        {
            full.ReadWeights().WriteFloat32(1, full.ReadWeights().ReadFloat32(1).Select(v => v * 1.01f).ToArray());
            full.Save(changed + "-saved");
        }
        using (var otherBase = ZoModel.Open(changed + "-saved", threads: 2, peft: Options(PeftScheme.Lora)))
        {
            var e = Assert.Throws<OrtZoException>(() => ZoTrainer.Resume(checkpoint, otherBase, train));
            Assert.That(e!.Message, Does.Contain("weights:"));
        }
        using (var full = ZoModel.Open(TestPaths.Stories260k, threads: 2))
            Assert.That(Assert.Throws<OrtZoException>(() => ZoTrainer.Resume(checkpoint, full, train))!.Reason, Is.EqualTo(CheckpointError.ModelDiffers), "a full model cannot take a PEFT checkpoint");
    }

    [Test]
    public void SavedAdaptersReopenToTheSameScoresAndTheBaseFolderIsNeverWritten()
    {
        var before = PeftFixtures.FolderHashes(TestPaths.Stories260k);
        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl").Take(16);
        var rows = PeftFixtures.RandomRows(2, 12, 512, seed: 3);
        foreach (var scheme in new[] { PeftScheme.Lora, PeftScheme.Prefix, PeftScheme.Prompt })
        {
            string saved = Path.Combine(_temp.Path, $"saved-{scheme}");
            float[] scores;
            using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Options(scheme)))
            {
                using (var trainer = new ZoTrainer(model, train, Defaults(scheme) with { BatchSize = 4 }))
                    for (int i = 0; i < 2; i++) trainer.Step();
                scores = PeftFixtures.Scores(model, rows);
                model.Save(saved);
                model.Export(Path.Combine(_temp.Path, $"exported-{scheme}"));
            }
            Assert.That(Directory.GetFiles(saved).Select(Path.GetFileName), Is.EquivalentTo(new[] { "ortzo.json", "adapters.safetensors" }));
            using var reopened = ZoModel.Open(saved, threads: 2);
            Assert.That(reopened.Peft!.Scheme, Is.EqualTo(scheme));
            Assert.That(PeftFixtures.Scores(reopened, rows), Is.EqualTo(scores), $"{scheme}: bit for bit after a save and reopen");
        }
        Assert.That(PeftFixtures.FolderHashes(TestPaths.Stories260k), Is.EqualTo(before), "models/stories260k is byte for byte what it was");
    }
}
