using System.CommandLine;
using OrtZo.Cli;
using OrtZo.Cli.Commands;

// Redirected output (logs, CI, scripts) has no terminal width; Spectre would wrap tables at 80 columns and split paths
// across rows. Tables size to their content, so a wide limit only keeps each cell on one line.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 4096;

var root = new RootCommand("OrtZo: fine-tune ONNX language models with zeroth-order optimizers (forward passes only).");
root.Options.Add(CommonOptions.OrtLibrary);
root.Subcommands.Add(ImportCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(SweepCommand.Create());
root.Subcommands.Add(PlotCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(MakeModelCommand.Create());
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(GpuCheckCommand.Create());
root.Subcommands.Add(WorkerCommand.Create());
return CliErrors.Run(root, args, parse => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
