using System.Text.Json;
using NUnit.Framework;
using OrtZo.Tests.Cli;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>
/// The command line a user runs: <c>ortzo train --peft lora</c> writes adapter folders, resumes only with the same
/// adapter options, and <c>ortzo export</c> turns the result into a model plain ORT loads.
/// </summary>
public class PeftCliTests
{
    [Test]
    public void TrainWithLoraThenResumeThenExport()
    {
        using var temp = new TempFolder("peft-cli");
        var env = new Dictionary<string, string> { ["ORTZO_CACHE"] = temp.File("cache") };
        string train = temp.File("train.jsonl"), dev = temp.File("dev.jsonl"), run = temp.File("run");
        File.WriteAllLines(train, File.ReadLines(PeftFixtures.Split("train")).Take(32));
        File.WriteAllLines(dev, File.ReadLines(PeftFixtures.Split("dev")).Take(8));
        string[] Args(int rank, int steps, params string[] more) =>
        [
            "train", "--model", TestPaths.Stories260k, "--data", train, "--dev", dev, "--task", "jsonl", "--peft", "lora", "--lora-rank", rank.ToString(),
            "--optimizer", "zo-adam", "--batch", "4", "--seed", "3", "--eval-every", "2", "--out", run, "--steps", steps.ToString(), .. more,
        ];

        var (code, stdout, stderr) = CliRunner.RunWith(env, Args(4, 2));
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("peft lora: 4,480 trainable adapter parameters").And.Contain("lr 0.001, ε 0.01"));
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "final", "ortzo.json"))))
        {
            Assert.That(manifest.RootElement.GetProperty("format").GetString(), Is.EqualTo("ortzo-adapter"));
            Assert.That(manifest.RootElement.GetProperty("peft").GetProperty("lora_rank").GetInt32(), Is.EqualTo(4));
        }

        // Workers would open the base folder and train every weight: the combination is refused, not half-honoured.
        var (distributed, _, distributedErr) = CliRunner.RunWith(env, Args(4, 2, "--distributed"));
        Assert.That(distributed, Is.EqualTo(2), distributedErr);
        Assert.That(distributedErr, Does.Contain("--distributed with --peft lora"));

        var (refused, _, refusedErr) = CliRunner.RunWith(env, Args(8, 4, "--resume"));
        Assert.That(refused, Is.EqualTo(2), refusedErr);
        Assert.That(refusedErr, Does.Contain("error:").And.Contain("same base model and adapter options"));

        var (resumed, resumedOut, resumedErr) = CliRunner.RunWith(env, Args(4, 4, "--resume"));
        Assert.That(resumed, Is.Zero, resumedOut + resumedErr);

        string exported = temp.File("exported");
        var (exportCode, exportOut, exportErr) = CliRunner.RunWith(env, ["export", "--model", Path.Combine(run, "final"), "--out", exported]);
        Assert.That(exportCode, Is.Zero, exportOut + exportErr);
        Assert.That(exportOut, Does.Contain("LoRA merged"));
        Assert.That(File.Exists(Path.Combine(exported, "tokenizer.model")));
        var (logits, shape) = PeftFixtures.ExportedLogits(Path.Combine(exported, "model.onnx"), PeftFixtures.RandomRows(1, 8, 512, seed: 1));
        Assert.That(shape, Is.EqualTo(new long[] { 1, 8, 512 }));
        Assert.That(logits.All(float.IsFinite));
    }
}
