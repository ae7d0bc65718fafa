using System.CommandLine;
using OrtZo.Generation;

namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo generate</c>: continue a prompt with a model folder (greedy or top-p sampling).</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Required = true, Description = "OrtZo model folder" };
        var prompt = new Option<string>("--prompt") { DefaultValueFactory = _ => "", Description = "Text to continue (empty: start from BOS)" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 60 };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0, Description = "0 = greedy" };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 0.95 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 0UL };
        var noCache = new Option<bool>("--no-kv-cache") { Description = "Recompute the whole sequence for every token instead of decoding with a KV cache (same tokens, slower)" };
        var timing = new Option<bool>("--timing") { Description = "Print the generated tokens per second (after the prompt) to stderr" };
        var device = CommonOptions.Device();
        var command = new Command("generate", "Continue a prompt with a model (to read what a tuned model writes)") { model, prompt, maxNew, temperature, topP, seed, noCache, timing, device };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            using var zo = ZoModel.Open(result.GetValue(model)!, CommonOptions.ParseDevice(result.GetValue(device)!));
            using var generator = new TextGenerator(zo, kvCache: !result.GetValue(noCache));
            if (generator.KvCacheUnavailable is { } why) Console.Error.WriteLine($"note: generating without a KV cache: {why}");
            string text = result.GetValue(prompt)!;
            var ids = zo.Tokenizer.Encode(text);
            var options = new SamplingOptions(result.GetValue(maxNew), result.GetValue(temperature), result.GetValue(topP), result.GetValue(seed));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var continuation = generator.Continue(ids, options);
            clock.Stop();
            if (result.GetValue(timing))
                Console.Error.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{continuation.Count} tokens after a {ids.Length}-token prompt in {clock.Elapsed.TotalSeconds:F3} s: {continuation.Count / clock.Elapsed.TotalSeconds:F1} tokens/s ({(generator.UsesKvCache ? "KV cache" : "recomputing the sequence")})"));
            Console.WriteLine(text + zo.Tokenizer.Decode(ids.Concat(continuation).ToArray())[zo.Tokenizer.Decode(ids).Length..]);
            return 0;
        });
        return command;
    }
}
