using NUnit.Framework;
using OrtZo.Training;
using OrtZo.Engine;

namespace OrtZo.Tests.Training;

/// <summary>An interrupted run resumed from its checkpoint ends byte for byte where an uninterrupted run ends.</summary>
public class ResumeTests
{
    private static string Split(string name) => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", name + ".jsonl");

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-resume-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static ZoOptions Options(ZoOptimizer optimizer) => new()
    {
        Optimizer = optimizer,
        LearningRate = optimizer == ZoOptimizer.ZoAdam ? 1e-3 : 1e-4,
        BatchSize = 4,
        Seed = 11,
        Schedule = LearningRateSchedule.Linear,
        TotalSteps = 24,
    };

    private static unsafe byte[] State(ZoModel model, string checkpoint)
    {
        var bytes = new List<byte>(File.ReadAllBytes(Path.Combine(checkpoint, Checkpoint.WeightsFile)));
        string opt = Path.Combine(checkpoint, Checkpoint.OptimizerFile);
        if (File.Exists(opt)) bytes.AddRange(File.ReadAllBytes(opt));
        return bytes.ToArray();
    }

    [TestCase(ZoOptimizer.SparseMeZO)]
    [TestCase(ZoOptimizer.ZoAdam)]
    public void ResumedRunEqualsUninterruptedRun(ZoOptimizer optimizer)
    {
        var train = TaskData.Load(Split("train"), "jsonl").Take(64);
        var dev = TaskData.Load(Split("dev"), "jsonl").Take(8);
        string full = Path.Combine(_dir, "full"), cut = Path.Combine(_dir, "cut");

        // uninterrupted: 24 steps, evaluating and checkpointing every 8 (settling never changes the run)
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2))
        using (var trainer = new ZoTrainer(model, train, Options(optimizer)))
        {
            for (int i = 0; i < 24; i++)
            {
                trainer.Step();
                if (trainer.StepIndex % 8 == 0)
                {
                    trainer.Evaluate(dev);
                    trainer.SaveCheckpoint(full);
                }
            }
        }
        // interrupted: checkpoint at 8, run on to 13, then everything in memory is lost
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2))
        using (var trainer = new ZoTrainer(model, train, Options(optimizer)))
        {
            for (int i = 0; i < 13; i++)
            {
                trainer.Step();
                if (trainer.StepIndex == 8) trainer.SaveCheckpoint(cut);
            }
        }
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2))
        using (var trainer = ZoTrainer.Resume(cut, model, train))
        {
            Assert.That(trainer.StepIndex, Is.EqualTo(8));
            while (trainer.StepIndex < 24) trainer.Step();
            trainer.SaveCheckpoint(cut);
        }
        using var check = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        Assert.That(State(check, cut), Is.EqualTo(State(check, full)), "weights and optimizer state must match byte for byte");
        Assert.That(Checkpoint.ReadState(cut).UpdatesApplied, Is.EqualTo(Checkpoint.ReadState(full).UpdatesApplied));
    }

    [Test]
    public void ResumeRefusesOtherOptionsOrData()
    {
        var train = TaskData.Load(Split("train"), "jsonl").Take(32);
        string ck = Path.Combine(_dir, "ck");
        using (var model = ZoModel.Open(TestPaths.Stories260k, threads: 2))
        using (var trainer = new ZoTrainer(model, train, Options(ZoOptimizer.MeZO)))
        {
            trainer.Step();
            trainer.SaveCheckpoint(ck);
        }
        using var again = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var e = Assert.Throws<OrtZoException>(() => ZoTrainer.Resume(ck, again, train, Options(ZoOptimizer.MeZO) with { LearningRate = 5e-4 }))!;
        Assert.That(e.Reason, Is.EqualTo(CheckpointError.OptionsDiffer));
        Assert.That(e.Message, Does.Contain("run.json").And.Contain("other options"));
        Assert.That(Assert.Throws<OrtZoException>(() => ZoTrainer.Resume(ck, again, TaskData.Load(Split("train"), "jsonl").Take(31)))!.Reason,
            Is.EqualTo(CheckpointError.DataDiffers));
        using var ok = ZoTrainer.Resume(ck, again, train, Options(ZoOptimizer.MeZO) with { TotalSteps = 100 });
        Assert.That(ok.StepIndex, Is.EqualTo(1));
    }

    [Test]
    public void AFailedCheckpointWriteLeavesThePreviousOneValid()
    {
        var train = TaskData.Load(Split("train"), "jsonl").Take(32);
        string ck = Path.Combine(_dir, "ck");
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        using var trainer = new ZoTrainer(model, train, Options(ZoOptimizer.MeZO));
        trainer.Step();
        trainer.SaveCheckpoint(ck);
        var before = Directory.GetFiles(ck).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        trainer.Step();
        // the process dies after writing the new weights file, before the checkpoint is complete
        var killed = Assert.Throws<OrtZoException>(() => trainer.SaveCheckpoint(ck, null, _ => throw new IOException("killed")))!;
        Assert.That((killed.Kind, killed.InnerException?.Message), Is.EqualTo((OrtZoErrorKind.Io, "killed")));
        Assert.That(Directory.GetFiles(ck).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes), Is.EquivalentTo(before));
        Assert.That(Checkpoint.ReadState(ck).Step, Is.EqualTo(1));
        Assert.That(Directory.GetDirectories(_dir), Has.Length.EqualTo(1), "no temporary folder is left behind");
    }

    [Test]
    public void ACrashBetweenTheRenamesOfAReplaceIsRecovered()
    {
        var train = TaskData.Load(Split("train"), "jsonl").Take(32);
        string ck = Path.Combine(_dir, "ck");
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        using var trainer = new ZoTrainer(model, train, Options(ZoOptimizer.MeZO));
        trainer.Step();
        trainer.SaveCheckpoint(ck);
        // the state a kill leaves after the old checkpoint was renamed aside and before the new one moved in
        Directory.Move(ck, ck + ".old-0123");
        Directory.CreateDirectory(Path.Combine(_dir, ".ck.tmp-dead"));
        Assert.That(Checkpoint.ReadState(ck).Step, Is.EqualTo(1));
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "ck" }));
    }

    private static int StepsLogged(string metrics)
    {
        try
        {
            using var stream = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            int steps = 0;
            while (reader.ReadLine() is { } line)
                if (line.Contains("\"loss\"", StringComparison.Ordinal)) steps++;
            return steps;
        }
        catch (IOException)
        {
            return 0;   // not written yet, or being replaced on resume
        }
    }

    [Test]
    [CancelAfter(240_000)]
    public void KilledTrainingProcessResumesToTheSameWeights()
    {
        // `ortzo train` in a child process, killed with SIGKILL at several moments (some while it writes a
        // checkpoint every step), then resumed: the final weights equal those of a run never killed.
        string data = Path.Combine(_dir, "train.jsonl");
        File.WriteAllLines(data, File.ReadLines(Split("train")).Take(48));
        string[] Args(string outDir, bool resume) =>
        [
            "train", "--model", TestPaths.Stories260k, "--data", data, "--task", "jsonl", "--optimizer", "sparse-mezo",
            "--steps", "40", "--batch", "4", "--lr", "2e-4", "--seed", "5", "--checkpoint-every", "1", "--threads", "1", "--out", outDir,
            .. resume ? new[] { "--resume" } : [],
        ];
        int Run(string[] args, Func<bool>? killWhen) => Cli.CliRunner.RunWith(null, args, killWhen).Code;

        string reference = Path.Combine(_dir, "reference");
        Assert.That(Run(Args(reference, false), null), Is.Zero, "uninterrupted run");
        // Kill points are steps of the run itself, read from the metrics it writes (one line per step), never
        // wall-clock times: a busy or an idle machine kills at the same places. Every attempt kills a few steps
        // further on, anywhere inside the step (often while the per-step checkpoint is being written).
        string killed = Path.Combine(_dir, "killed");
        string metrics = Path.Combine(killed, "metrics.jsonl");
        int kills = 0;
        var rnd = new Random(1);
        int target = 0;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            target += 4 + rnd.Next(6);
            int at = target;
            int code = Run(Args(killed, attempt > 0), () => StepsLogged(metrics) >= at);
            if (code == Cli.CliRunner.Killed) kills++;
            else Assert.Fail($"train exited with {code} before step {at}");
        }
        Assert.That(Run(Args(killed, true), null), Is.Zero, "final resume");
        TestContext.Out.WriteLine($"killed {kills} times before finishing");
        Assert.That(kills, Is.GreaterThan(0), "the test must actually kill the process");
        Assert.That(File.ReadAllBytes(Path.Combine(killed, "final", "weights.safetensors")),
            Is.EqualTo(File.ReadAllBytes(Path.Combine(reference, "final", "weights.safetensors"))));
    }
}
