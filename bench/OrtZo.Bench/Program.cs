using OrtZo.Bench;

// OrtZo CPU benchmarks. Each measurement runs in its own process so that peak RSS belongs to it alone.
//   dotnet run -c Release --project bench/OrtZo.Bench -- all      [--model <folder>] [--out bench/results]
//   dotnet run -c Release --project bench/OrtZo.Bench -- forward | step | drift
//   dotnet run -c Release --project bench/OrtZo.Bench -- dist     (distributed figures: overhead, replay, recovery)
return BenchMain.Run(args);
