using System.CommandLine;
using System.Text.Json;
using OrtZo.WeightStore;
using Spectre.Console;

using OrtZo;
namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo eval</c>: accuracy of a model on a task file, with an optional per-example JSON report.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "OrtZo model folder", Required = true };
        var data = new Option<string>("--data") { Description = "Task data file", Required = true };
        var task = TaskOption();
        var batch = new Option<int>("--batch") { Description = "Examples per forward batch", DefaultValueFactory = _ => 16 };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var report = new Option<string?>("--report") { Description = "Write accuracy and per-example scores as JSON" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N examples" };
        var command = new Command("eval", "Score every candidate of every example; print accuracy") { model, data, task, batch, device, threads, report, limit };
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var taskData = TaskData.Load(result.GetValue(data)!, result.GetValue(task)!);
            if (result.GetValue(limit) is int n && n < taskData.Count) taskData = taskData.Take(n);
            using var zo = ZoModel.Open(result.GetValue(model)!, CommonOptions.ParseDevice(result.GetValue(device)!), result.GetValue(threads));
            int batchSize = result.GetValue(batch);
            EvalResult? outcome = null;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask($"eval {taskData.Task}", maxValue: taskData.Count);
                    outcome = zo.Evaluate(taskData, batchSize, done => bar.Value = done);
                });
            var r = outcome!;
            AnsiConsole.MarkupLine($"accuracy [bold]{r.Accuracy:P2}[/] ({r.Predictions.Count(p => p.Label == p.Prediction)}/{r.Examples}), loss {r.Loss:F4}");
            if (result.GetValue(report) is { } reportPath)
            {
                var json = new
                {
                    model = zo.FolderPath,
                    data = Path.GetFullPath(result.GetValue(data)!),
                    task = taskData.Task,
                    accuracy = r.Accuracy,
                    loss = r.Loss,
                    examples = r.Predictions.Select(p => new
                    {
                        label = p.Label,
                        prediction = p.Prediction,
                        candidates = p.Candidates.Select(c => new { sum = c.Sum, mean = c.Mean, tokens = c.Tokens }),
                    }),
                };
                AtomicFile.WriteAllText(reportPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = false }) + "\n");
                AnsiConsole.MarkupLine($"report: {Markup.Escape(Path.GetFullPath(reportPath))}");
            }
            return 0;
        });
        return command;
    }

    public static Option<string> TaskOption() => new("--task")
    {
        Description = $"Task: {string.Join("|", TaskData.TaskNames)}",
        DefaultValueFactory = _ => "jsonl",
    };
}
