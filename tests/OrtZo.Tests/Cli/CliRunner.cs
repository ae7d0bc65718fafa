using System.Diagnostics;

namespace OrtZo.Tests.Cli;

/// <summary>Runs the built `ortzo` (OrtZo.Cli.dll) as a child process, as a user would.</summary>
internal static class CliRunner
{
    /// <summary>Exit code used when <see cref="RunWith"/> killed the process itself (SIGKILL).</summary>
    public const int Killed = -9;

    public static (int Code, string Out, string Err) Run(params string[] args) => RunWith(null, args);

    /// <param name="killWhen">Polled while the process runs: once true, the process is killed (SIGKILL, whole tree). Tests
    /// decide by the run's own progress (files it wrote), never by elapsed time, so a loaded machine changes nothing.</param>
    public static (int Code, string Out, string Err) RunWith(IReadOnlyDictionary<string, string>? env, string[] args, Func<bool>? killWhen = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OrtZo.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (killWhen is not null)
        {
            while (!p.WaitForExit(5))
            {
                if (!killWhen()) continue;
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                return (Killed, stdout.Result, stderr.Result);
            }
        }
        if (!p.WaitForExit(300_000))
        {
            p.Kill(true);
            throw new TimeoutException($"ortzo {string.Join(' ', args)} did not finish");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
