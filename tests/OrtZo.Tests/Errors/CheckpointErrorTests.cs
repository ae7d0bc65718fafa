using NUnit.Framework;
using OrtZo.Distributed.Protocol;
using OrtZo.Distributed.Worker;
using OrtZo.Tests.Onnx;
using OrtZo.Training;

namespace OrtZo.Tests.Errors;

/// <summary>
/// One case per way a checkpoint, or a request to resume from it, can be wrong (<see cref="CheckpointError"/>): a real
/// checkpoint of a two-step run, with run.json or the request broken one way at a time.
/// </summary>
public class CheckpointErrorTests
{
    private static readonly ZoOptions Options = new() { LearningRate = 1e-4, BatchSize = 4, Seed = 1, TotalSteps = 4 };
    private TempFolder _temp = null!;
    private string _checkpoint = "";

    [OneTimeSetUp]
    public void WriteACheckpoint()
    {
        _temp = new TempFolder("badckpt");
        _checkpoint = Path.Combine(_temp.Path, "checkpoint");
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        using var trainer = new ZoTrainer(model, Data(), Options);
        trainer.Step();
        trainer.Step();
        trainer.SaveCheckpoint(_checkpoint);
    }

    [OneTimeTearDown]
    public void Remove() => _temp.Dispose();

    private static TaskData Data() => TaskData.Load(ErrorFixtures.Train, "jsonl").Take(8);

    private sealed record Case(Action<string> Break, Action<string> Trigger, OrtZoErrorKind Kind, string Names);

    private static void Resume(string checkpoint, ZoOptions? options = null, TaskData? data = null, PeftOptions? peft = null, string? temp = null)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: peft is null ? null : peft with { CacheFolder = Path.Combine(temp!, "cache") });
        using var trainer = ZoTrainer.Resume(checkpoint, model, data ?? Data(), options);
    }

    private static string RunJson(string checkpoint) => Path.Combine(checkpoint, RunState.FileName);

    private static readonly Dictionary<CheckpointError, Case> Cases = new()
    {
        [CheckpointError.NoCheckpoint] = new(c => File.Delete(RunJson(c)), c => Resume(c), OrtZoErrorKind.NotFound, "run.json: no checkpoint here"),
        [CheckpointError.InvalidJson] = new(c => File.WriteAllText(RunJson(c), "{\"step\": "), c => Resume(c), OrtZoErrorKind.InvalidCheckpoint, "invalid run state"),
        [CheckpointError.Empty] = new(c => File.WriteAllText(RunJson(c), "null"), c => Resume(c), OrtZoErrorKind.InvalidCheckpoint, "empty run state"),
        [CheckpointError.UnsupportedVersion] = new(c => ErrorFixtures.EditJson(RunJson(c), r => r["version"] = 99), c => Resume(c), OrtZoErrorKind.InvalidCheckpoint, "version: 99"),
        [CheckpointError.OptionsDiffer] = new(_ => { }, c => Resume(c, Options with { LearningRate = 3e-4 }), OrtZoErrorKind.InvalidCheckpoint, "options: the run was started with other options"),
        [CheckpointError.ModelDiffers] = new(_ => { }, c => Resume(c, peft: new PeftOptions { Scheme = PeftScheme.Lora }, temp: Path.GetDirectoryName(c)), OrtZoErrorKind.InvalidCheckpoint, "base_model: the run trained all weights of a model"),
        [CheckpointError.DataDiffers] = new(_ => { }, c => Resume(c, data: TaskData.Load(ErrorFixtures.Train, "jsonl").Take(7)), OrtZoErrorKind.InvalidCheckpoint, "data_fingerprint: the training data differs"),
        [CheckpointError.ThresholdsMismatch] = new(c => ErrorFixtures.EditJson(RunJson(c), r => r["tensor_ratios"] = new System.Text.Json.Nodes.JsonArray(0.5)), c => Resume(c), OrtZoErrorKind.InvalidCheckpoint, "tensor_ratios: 1 per-tensor thresholds"),
        [CheckpointError.RunExists] = new(_ => { }, c =>
        {
            using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
            OrtZo.Cli.TrainingLoop.Run(model, Data(), null, null, Options, new OrtZo.Cli.TrainingRunSettings { OutputFolder = Path.GetDirectoryName(c)!, Steps = 4 });
        }, OrtZoErrorKind.OutputExists, "the output folder already holds a run"),
        [CheckpointError.DigestMismatch] = new(_ => { }, c => CheckpointFiles.Verify(new CheckpointMark(2, c, new string('0', 64))), OrtZoErrorKind.InvalidCheckpoint, "differs from the run log's"),
    };

    public static IEnumerable<TestCaseData> Reasons() => Cases.Keys.Select(r => new TestCaseData(r.ToString()).SetName($"checkpoint: {r}"));

    internal static IEnumerable<Enum> Covered => Cases.Keys.Cast<Enum>();

    [TestCaseSource(nameof(Reasons))]
    public void EachWayACheckpointIsWrongHasItsOwnError(string reasonName)
    {
        var reason = Enum.Parse<CheckpointError>(reasonName);
        var c = Cases[reason];
        string run = Path.Combine(_temp.Path, $"run-{reason}");
        string checkpoint = Path.Combine(run, "checkpoint");
        ErrorFixtures.CopyFolder(_checkpoint, checkpoint);
        c.Break(checkpoint);
        var e = Assert.Throws<OrtZoException>(() => c.Trigger(checkpoint))!;
        Assert.That(e.Reason, Is.EqualTo(reason), e.Message);
        Assert.That(e.Kind, Is.EqualTo(c.Kind));
        Assert.That(e.Message, Does.Contain(checkpoint).And.Contain(c.Names));
    }
}
