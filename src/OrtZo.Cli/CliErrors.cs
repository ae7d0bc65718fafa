using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.WeightStore;

using OrtZo;
namespace OrtZo.Cli;

/// <summary>
/// Turns the errors a user can cause (bad files, bad options) into one "error:" line and a "hint:" line with
/// exit code 2; anything else is a bug and prints its stack trace (exit 1).
/// </summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (Hint(e) is { } hint)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine($"hint: {hint}");
            return 2;
        }
    }

    private static string? Hint(Exception e) => e switch
    {
        ModelFormatException => "the model folder must be made by `ortzo import` (see README, \"Model folder format\")",
        OnnxModelException => "`ortzo import` expects an ONNX causal LM: input_ids in, logits [batch, seq, vocab] out",
        WeightStoreException => "the weights file is not valid safetensors or does not match ortzo.json",
        TaskDataException => "see README, \"Task data\", for the layouts each --task reads",
        FileNotFoundException or DirectoryNotFoundException => "check the path",
        ArgumentException or FormatException or InvalidOperationException => "see `ortzo <command> --help`",
        NotSupportedException => "see `ortzo doctor` for what this build supports",
        _ => null,
    };
}
