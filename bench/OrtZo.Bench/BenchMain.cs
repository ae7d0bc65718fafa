using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrtZo.Bench;

internal static class BenchMain
{
    public static int Run(string[] args)
    {
        string command = args.Length > 0 ? args[0] : "all";
        var options = Options.Parse(args.Skip(1).ToArray());
        // a device that is not there is said once, here, rather than by every measuring child process
        OrtZo.Runtime.ExecutionProviders.EnsureAvailable(options.Device);
        switch (command)
        {
            case "measure-forward":
                Console.WriteLine(ForwardBench.Measure(options).ToJsonString());
                return 0;
            case "measure-step":
                Console.WriteLine(StepBench.Measure(options).ToJsonString());
                return 0;
            case "measure-peft":
                Console.WriteLine(PeftForwardBench.Measure(options).ToJsonString());
                return 0;
            case "peft":
                return Report("peft", PeftRuns(options), options);
            case "forward":
                return Report("forward", ForwardRuns(options), options);
            case "step":
                return Report("step", StepRuns(options), options);
            case "drift":
                return Report("drift", [DriftBench.Measure(options)], options);
            case "rng":
                return RngBench.Run();
            case "passes":
                return Report("passes", PassBench.Measure(options).ToList(), options);
            case "dist":
                return DistributedBench.Run(options);
            case "dist-mp":
                return MultiProcessRecoveryBench.Run(options);
            case "all":
                Report("forward", ForwardRuns(options), options);
                Report("step", StepRuns(options), options);
                Report("drift", [DriftBench.Measure(options)], options);
                Report("peft", PeftRuns(options), options);
                return 0;
            default:
                Console.Error.WriteLine("usage: OrtZo.Bench all|forward|step|drift|peft|rng|passes|dist|dist-mp [--model <folder>] [--batches 4,16,32] [--seq 64] [--device cpu|cuda[:N]] [--out <folder>]");
                return 2;
        }
    }

    private static IEnumerable<JsonObject> ForwardRuns(Options o)
    {
        foreach (string model in o.Models)
            foreach (int batch in o.Batches)
                foreach (string binding in new[] { "inputs", "initializers" })
                    yield return Child("measure-forward", "--model", model, "--batch", batch.ToString(), "--seq", o.Seq.ToString(), "--binding", binding, "--device", o.Device.ToString());
    }

    private static IEnumerable<JsonObject> PeftRuns(Options o)
    {
        foreach (string model in o.Models)
            foreach (int batch in o.Batches.Where(b => b >= 16))
                foreach (string scheme in new[] { "lora", "prefix", "prompt" })
                    yield return Child("measure-peft", "--model", model, "--batch", batch.ToString(), "--seq", o.Seq.ToString(), "--scheme", scheme);
    }

    private static IEnumerable<JsonObject> StepRuns(Options o)
    {
        foreach (string model in o.Models)
            foreach (int batch in o.Batches)
                foreach (string optimizer in new[] { "mezo", "sparse-mezo" })
                    yield return Child("measure-step", "--model", model, "--batch", batch.ToString(), "--seq", o.Seq.ToString(), "--optimizer", optimizer, "--device", o.Device.ToString());
    }

    private static JsonObject Child(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        string self = typeof(BenchMain).Assembly.Location;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(self);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"bench child {string.Join(' ', args)} exited {p.ExitCode}");
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
    }

    private static int Report(string name, IEnumerable<JsonObject> runs, Options o)
    {
        var list = new JsonArray();
        foreach (var r in runs)
        {
            Console.WriteLine(Format(name, r));
            list.Add(r);
        }
        Directory.CreateDirectory(o.OutFolder);
        var doc = new JsonObject
        {
            ["benchmark"] = name,
            ["machine"] = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            ["command"] = "dotnet run -c Release --project bench/OrtZo.Bench -- " + name + " " + string.Join(' ', o.Raw),
            ["runs"] = list,
        };
        File.WriteAllText(Path.Combine(o.OutFolder, $"{(o.Device.IsCuda ? "cuda" : "cpu")}-{name}.json"), doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return 0;
    }

    private static string Format(string name, JsonObject r) => name switch
    {
        "forward" => $"forward  {r["model"],-16} {r["binding"],-12} batch {r["batch"],3} × seq {r["seq"]}: {(double)r["forward_ms"]!:F2} ms, {(double)r["tokens_per_s"]!:F0} tok/s, peak RSS {(double)r["peak_rss_mb"]!:F0} MiB",
        "step" => $"step     {r["model"],-16} {r["optimizer"],-12} batch {r["batch"],3} × seq {r["seq"]}: step {(double)r["step_ms"]!:F2} ms, 2×forward {2 * (double)r["forward_ms"]!:F2} ms (in the step {2 * (double)r["forward_in_step_ms"]!:F2}), ratio {(double)r["step_over_2fwd"]!:F3}; " +
                    $"pass {(double)r["pass_ms"]!:F2} ms = {(double)r["pass_gb_per_s"]!:F1} GB/s; extra {r["extra_memory_bytes"]} B; peak RSS {(double)r["peak_rss_mb"]!:F0} MiB",
        "peft" => $"peft     {r["model"],-16} {r["scheme"],-8} batch {r["batch"],3} × seq {r["seq"]}: base as inputs {(double)r["inputs_ms"]!:F2} ms, as initializers {(double)r["initializers_ms"]!:F2} ms ({(double)r["initializers_change"]!:P1}); {r["adapter_params"]} adapter parameters",
        "passes" => $"passes   {r["case"],-40} {(long)r["elements"]!,10:N0} weights  {(double)r["pass_ms"]!,8:F3} ms/pass  {(double)r["gb_per_s"]!,6:F2} GB/s",
        _ => r.ToJsonString(),
    };
}

internal sealed record Options(IReadOnlyList<string> Models, IReadOnlyList<int> Batches, int Seq, string OutFolder, string Binding, string Optimizer, string Scheme, ZoDevice Device, IReadOnlyList<string> Raw)
{
    public int Batch => Batches[0];
    public string Model => Models[0];

    public static Options Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        string root = FindRoot();
        int mi = Array.IndexOf(args, "--model");
        var models = (mi >= 0 && mi + 1 < args.Length ? args[mi + 1] : Path.Combine(root, "models", "stories260k") + "," + BenchModels.Medium(root)).Split(',');
        var batches = Get("--batch", Get("--batches", "4,16,32")).Split(',').Select(int.Parse).ToArray();
        return new Options(models, batches, int.Parse(Get("--seq", "64")), Get("--out", Path.Combine(root, "bench", "results")),
            Get("--binding", "inputs"), Get("--optimizer", "mezo"), Get("--scheme", "lora"), ZoDevice.Parse(Get("--device", "cpu")), args);
    }

    internal static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "OrtZo.sln"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
