using System.CommandLine;
using NUnit.Framework;
using OrtZo.Cli;

namespace OrtZo.Tests.Cli;

/// <summary>
/// The CLI's exit contract: what a user can fix exits 2 with one error: line and one hint: line; a bug exits 1 as an
/// internal error with its stack trace, never as a usage error.
/// </summary>
public class ExitContractTests
{
    private static void AssertUsageError((int Code, string Out, string Err) r, string naming)
    {
        Assert.That(r.Code, Is.EqualTo(2), r.Out + r.Err);
        Assert.That(r.Err, Does.StartWith("error: ").And.Contain(naming));
        Assert.That(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(), Does.StartWith("hint: "));
        Assert.That(r.Out, Does.Not.Contain("Usage:"), "no help text stands in for the error");
    }

    [Test]
    public void AnUnknownCommandExitsTwoNamingItEvenWithHelp()
    {
        AssertUsageError(CliRunner.Run("tune", "--help"), "'tune'");
        AssertUsageError(CliRunner.Run("tune"), "'tune'");
    }

    [Test]
    public void AnUnknownOptionExitsTwoNamingIt()
    {
        var r = CliRunner.Run("export", "--fromat", "genai", "--model", "m", "--out", "o");
        AssertUsageError(r, "'--fromat'");
        Assert.That(r.Err, Does.Contain("hint: see `ortzo export --help`"));
        AssertUsageError(CliRunner.Run("train", "--help", "--bogus"), "'--bogus'");
    }

    [Test]
    public void AnOptionValueOutOfRangeNamesTheOption()
    {
        var r = CliRunner.Run("train", "--model", TestPaths.Stories260k, "--data", Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", "train.jsonl"),
            "--task", "jsonl", "--lr", "-1", "--out", Path.Combine(Path.GetTempPath(), "ortzo-never-written"));
        AssertUsageError(r, "option LearningRate: a finite non-negative number");
        Assert.That(Directory.Exists(Path.Combine(Path.GetTempPath(), "ortzo-never-written", "checkpoint")), Is.False);
    }

    [Test]
    public void AMissingDataFileIsAUsageErrorNotACrash()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"ortzo-no-such-{Guid.NewGuid():N}.jsonl");
        AssertUsageError(CliRunner.Run("eval", "--model", TestPaths.Stories260k, "--data", missing, "--task", "jsonl"), missing);
    }

    public static IEnumerable<TestCaseData> DeviceCommands()
    {
        string data = Path.Combine(TestPaths.RepoRoot, "data", "story-feelings");
        yield return new TestCaseData((object)new[] { "eval", "--model", TestPaths.Stories260k, "--data", Path.Combine(data, "dev.jsonl"), "--task", "jsonl" }).SetName("eval --device cuda");
        yield return new TestCaseData((object)new[] { "train", "--model", TestPaths.Stories260k, "--data", Path.Combine(data, "train.jsonl"), "--task", "jsonl",
            "--steps", "1", "--out", Path.Combine(Path.GetTempPath(), $"ortzo-cuda-{Guid.NewGuid():N}") }).SetName("train --device cuda");
        yield return new TestCaseData((object)new[] { "generate", "--model", TestPaths.Stories260k, "--prompt", "Once" }).SetName("generate --device cuda");
        // a worker must refuse at start, not sit in the cluster until a run reaches it
        yield return new TestCaseData((object)new[] { "worker", "--cluster", "localhost" }).SetName("worker --device cuda");
    }

    [TestCaseSource(nameof(DeviceCommands))]
    public void UnavailableDeviceIsAUsageErrorNamingWhatIsMissing(string[] command)
    {
        if (OrtZo.Cuda.CudaDriver.IsAvailable) Assert.Ignore("this machine has a CUDA driver");
        AssertUsageError(CliRunner.Run([.. command, "--device", "cuda"]), "libcuda.so.1");
    }

    [Test]
    public void AnUnexpectedExceptionIsAnInternalErrorWithItsTrace()
    {
        var root = new RootCommand("test");
        var boom = new Command("boom");
        boom.SetAction(new Func<ParseResult, int>(_ => throw new InvalidOperationException("an invariant broke")));
        root.Subcommands.Add(boom);
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = CliErrors.Run(root, ["boom"], parse => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.ToString(), Does.StartWith("internal error: ").And.Contain("an invariant broke").And.Contain(nameof(AnUnexpectedExceptionIsAnInternalErrorWithItsTrace)));
        Assert.That(error.ToString(), Does.Not.Contain("hint:"), "a bug is not dressed up as a usage error");
    }

    [Test]
    public void AUserErrorWrappedByAThreadPoolStillExitsTwo()
    {
        var root = new RootCommand("test");
        var wrapped = new Command("wrapped");
        wrapped.SetAction(new Func<ParseResult, int>(_ => throw new AggregateException(OptionErrors.Fail(OptionError.OutOfRange, "--x", "must be positive"))));
        root.Subcommands.Add(wrapped);
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.That(CliErrors.Run(root, ["wrapped"], parse => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false })), Is.EqualTo(2));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.That(error.ToString(), Does.StartWith("error: --x must be positive"));
    }
}
