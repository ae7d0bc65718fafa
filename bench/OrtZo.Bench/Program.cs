using OrtZo;
using OrtZo.Bench;

// OrtZo benchmarks. Each measurement runs in its own process so that peak RSS belongs to it alone.
//   dotnet run -c Release --project bench/OrtZo.Bench -- all      [--model <folder>] [--out bench/results] [--device cpu|cuda[:N]]
//   dotnet run -c Release --project bench/OrtZo.Bench -- forward | step | drift
//   dotnet run -c Release --project bench/OrtZo.Bench -- dist     (distributed figures: overhead, replay, recovery)
try
{
    return BenchMain.Run(args);
}
catch (OrtZoException e)
{
    // the CLI's contract: input the caller can fix (a device that is not there, a model folder) is one error line, exit 2
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine($"hint: {e.Hint}");
    return 2;
}
