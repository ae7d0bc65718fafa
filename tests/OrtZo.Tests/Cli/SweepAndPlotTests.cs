using System.Text.Json;
using NUnit.Framework;

namespace OrtZo.Tests.Cli;

/// <summary><c>ortzo sweep</c> and the pictures, through the built CLI as a user runs them.</summary>
public class SweepAndPlotTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-sweep-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private string Sample(string split, int n)
    {
        string path = Path.Combine(_dir, $"{split}-{n}.jsonl");
        if (!File.Exists(path))
            File.WriteAllLines(path, File.ReadLines(Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", split + ".jsonl")).Take(n));
        return path;
    }

    private string[] Common(string command) =>
        [command, "--model", TestPaths.Stories260k, "--data", Sample("train", 40), "--dev", Sample("dev", 8), "--task", "jsonl",
         "--optimizer", "mezo", "--batch", "4", "--eps", "1e-3", "--seed", "3", "--threads", "1"];

    private static JsonElement Summary(string run) => JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))).RootElement;

    [Test]
    public void TrainWritesCurvesPngOfTheDefaultSizeAndPlotOverlaysRunsAtTheAskedSize()
    {
        string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
        foreach (var (run, lr) in new[] { (a, "1e-4"), (b, "3e-4") })
        {
            var (code, stdout, stderr) = CliRunner.Run([.. Common("train"), "--lr", lr, "--steps", "4", "--eval-every", "2", "--out", run]);
            Assert.That(code, Is.Zero, stdout + stderr);
            Assert.That(PngHeader.Read(Path.Combine(run, "curves.png")), Is.EqualTo((1000, 900)));
        }
        string overlay = Path.Combine(_dir, "both.png");
        var (plot, plotOut, plotErr) = CliRunner.Run("plot", a, b, "--out", overlay, "--size", "640x480", "--title", "two rates");
        Assert.That(plot, Is.Zero, plotOut + plotErr);
        Assert.That(PngHeader.Read(overlay), Is.EqualTo((640, 480)));

        var (missing, _, missingErr) = CliRunner.Run("plot", Path.Combine(_dir, "nope"), "--out", overlay);
        Assert.That(missing, Is.EqualTo(2));
        Assert.That(missingErr, Does.Contain("metrics.jsonl"));
    }

    [Test]
    public void PngReaderRejectsACorruptedImage()
    {
        string run = Path.Combine(_dir, "r");
        var (code, stdout, stderr) = CliRunner.Run([.. Common("train"), "--lr", "1e-4", "--steps", "2", "--out", run]);
        Assert.That(code, Is.Zero, stdout + stderr);
        byte[] bytes = File.ReadAllBytes(Path.Combine(run, "curves.png"));
        bytes[20] ^= 1;   // inside IHDR's data: its CRC no longer matches
        string bad = Path.Combine(_dir, "bad.png");
        File.WriteAllBytes(bad, bytes);
        Assert.Throws<InvalidDataException>(() => PngHeader.Read(bad));
        Assert.That(PngHeader.Crc32("IEND"u8), Is.EqualTo(0xAE426082u), "the CRC every PNG's IEND chunk carries");
    }

    [Test]
    public void SweepPromotesByResumingStopsDivergingTrialsAndAKilledSweepResumesToTheSameResult()
    {
        // Three rates, η 3: all train 3 steps, the best by dev loss goes on to 9. lr 0.5 diverges at once.
        string[] sweep = [.. Common("sweep"), "--lr", "1e-4,3e-4,0.5", "--steps", "9", "--min-steps", "3", "--eta", "3", "--test", Sample("test", 8)];
        string whole = Path.Combine(_dir, "whole");
        var (code, stdout, stderr) = CliRunner.Run([.. sweep, "--out", whole]);
        Assert.That(code, Is.Zero, stdout + stderr);
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(whole, "sweep.json"))).RootElement;
        var trials = state.GetProperty("trials").EnumerateArray().ToList();
        Assert.That(trials.Select(t => t.GetProperty("lr").GetDouble()), Is.EqualTo(new[] { 1e-4, 3e-4, 0.5 }));

        var diverged = trials[2];
        Assert.That(diverged.GetProperty("outcome").GetString(), Does.StartWith("diverged"));
        Assert.That(Summary(Path.Combine(whole, "trials", "t02")).GetProperty("steps").GetInt64(), Is.LessThanOrEqualTo(3));

        // The winner ran to 9 steps in two segments (3, then resumed to 9): its weights must be those of one plain
        // train run of 9 steps at its rate.
        string winner = state.GetProperty("winner").GetString()!;
        var won = trials.Single(t => t.GetProperty("name").GetString() == winner);
        Assert.That(won.GetProperty("rungs").GetArrayLength(), Is.EqualTo(2));
        string winnerFolder = Path.Combine(whole, "trials", winner);
        Assert.That(Summary(winnerFolder).GetProperty("steps").GetInt64(), Is.EqualTo(9));
        string plain = Path.Combine(_dir, "plain");
        var (trainCode, trainOut, trainErr) = CliRunner.Run([.. Common("train"), "--lr", won.GetProperty("lr").GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--steps", "9", "--out", plain]);
        Assert.That(trainCode, Is.Zero, trainOut + trainErr);
        Assert.That(Summary(winnerFolder).GetProperty("weights_digest").GetString(), Is.EqualTo(Summary(plain).GetProperty("weights_digest").GetString()));
        Assert.That(Summary(winnerFolder).GetProperty("best_dev_loss").GetDouble(),
            Is.EqualTo(Math.Min(Summary(plain).GetProperty("final_dev_loss").GetDouble(), won.GetProperty("rungs")[0].GetProperty("best_dev_loss").GetDouble())));

        // Forwards: 3 trials x 3 steps, the diverged one fewer, plus 6 more steps for the winner; 2 forwards a step.
        long expected = trials.Sum(t => t.GetProperty("rungs").EnumerateArray().Last().GetProperty("forwards").GetInt64());
        Assert.That(state.GetProperty("total_forwards").GetInt64(), Is.EqualTo(expected));
        Assert.That(Summary(winnerFolder).GetProperty("forwards").GetInt64(), Is.EqualTo(18));
        Assert.That(state.GetProperty("winner_test_accuracy").GetDouble(), Is.InRange(0.0, 1.0));

        // Only the winner keeps its model folders; every trial keeps its curves; the sweep's table and picture.
        foreach (var t in trials.Select(t => t.GetProperty("name").GetString()!))
        {
            Assert.That(Directory.Exists(Path.Combine(whole, "trials", t, "final")), Is.EqualTo(t == winner), t);
            Assert.That(PngHeader.Read(Path.Combine(whole, "trials", t, "curves.png")), Is.EqualTo((1000, 900)));
        }
        Assert.That(PngHeader.Read(Path.Combine(whole, "sweep.png")), Is.EqualTo((1000, 900)));
        string table = File.ReadAllText(Path.Combine(whole, "sweep.md"));
        Assert.That(table, Does.Contain("| trial | lr | ε | steps | best dev loss | dev acc % | forwards | stopped why |"));
        Assert.That(table, Does.Contain($"| {winner} |"));
        Assert.That(stdout, Does.Contain($"winner {winner}"));

        // Killed once the first trial has finished its first rung, then resumed: the same table and winner weights.
        string killed = Path.Combine(_dir, "killed");
        var (k, _, _) = CliRunner.RunWith(null, [.. sweep, "--out", killed], killWhen: () => File.Exists(Path.Combine(killed, "trials", "t01", "metrics.jsonl")));
        Assert.That(k, Is.EqualTo(CliRunner.Killed).Or.Zero);
        var (again, againOut, againErr) = CliRunner.Run([.. sweep, "--out", killed]);
        Assert.That(again, Is.EqualTo(2), "a sweep folder is not silently overwritten");
        Assert.That(againErr, Does.Contain("--resume"));
        var (resumed, resumedOut, resumedErr) = CliRunner.Run([.. sweep, "--out", killed, "--resume"]);
        Assert.That(resumed, Is.Zero, resumedOut + resumedErr);
        var after = JsonDocument.Parse(File.ReadAllText(Path.Combine(killed, "sweep.json"))).RootElement;
        Assert.That(after.GetProperty("winner").GetString(), Is.EqualTo(winner));
        Assert.That(Summary(Path.Combine(killed, "trials", winner)).GetProperty("weights_digest").GetString(),
            Is.EqualTo(Summary(winnerFolder).GetProperty("weights_digest").GetString()));
        Assert.That(File.ReadAllText(Path.Combine(killed, "sweep.md")), Is.EqualTo(table));

        // Resuming with other options is refused.
        var (other, _, otherErr) = CliRunner.Run([.. Common("sweep"), "--lr", "1e-4,2e-4", "--steps", "9", "--min-steps", "3", "--out", killed, "--resume"]);
        Assert.That(other, Is.EqualTo(2));
        Assert.That(otherErr, Does.Contain("other options"));
    }

    [Test]
    public void DistributedSweepsAreRefusedAndTheHelpSaysSo()
    {
        var (code, _, stderr) = CliRunner.Run([.. Common("sweep"), "--lr", "1e-4", "--steps", "3", "--out", Path.Combine(_dir, "d"), "--distributed"]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--distributed"));
        var (help, helpOut, _) = CliRunner.Run("sweep", "--help");
        Assert.That(help, Is.Zero);
        Assert.That(helpOut, Does.Contain("--distributed sweeps are out of scope"));
    }

    [Test]
    public void PerDecadeWithAListIsRefusedRatherThanIgnored()
    {
        string folder = Path.Combine(_dir, "p");
        var (code, _, stderr) = CliRunner.Run([.. Common("sweep"), "--lr", "1e-4,3e-4", "--per-decade", "6", "--budget", "40", "--steps", "3", "--min-steps", "1", "--out", folder]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--per-decade").And.Contain("a list"));
        Assert.That(Directory.Exists(folder), Is.False, "nothing written");
    }

    [Test]
    public void SweepWithoutDevDataIsRefused()
    {
        var (code, _, stderr) = CliRunner.Run("sweep", "--model", TestPaths.Stories260k, "--data", Sample("train", 40), "--task", "jsonl",
            "--lr", "1e-4,3e-4", "--steps", "3", "--out", Path.Combine(_dir, "n"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--dev"));
    }
}
