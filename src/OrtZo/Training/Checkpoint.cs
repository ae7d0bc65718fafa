using System.Text.Json;
using OrtZo.Onnx.Model;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Training;

/// <summary>
/// A checkpoint folder: settled weights (weights.safetensors), optimizer buffers (optimizer.safetensors, when
/// the optimizer has state) and run.json. Written into a temporary folder that replaces the previous
/// checkpoint only once complete, so a process killed mid-write leaves the previous checkpoint valid.
/// </summary>
internal static class Checkpoint
{
    public const string WeightsFile = "weights.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";

    /// <param name="afterFile">Called with each file's path once written (a seam for crash tests).</param>
    public static unsafe void Write(string folder, TrainingEngine engine, RunState state, Action<string>? afterFile = null)
    {
        engine.Download();
        var buffers = engine.Buffers;
        ModelFolder.WriteDirectory(folder, temp =>
        {
            buffers.Slab.Save(Path.Combine(temp, WeightsFile), new Dictionary<string, string> { ["step"] = state.Step.ToString() });
            afterFile?.Invoke(Path.Combine(temp, WeightsFile));
            var optimizer = new List<TensorSource>();
            if (buffers.State1 is { } s1) optimizer.Add(TensorSource.FromPointer(new TensorSpec("state1", DType.F32, [buffers.StateLength]), s1.Pointer));
            if (buffers.State2 is { } s2) optimizer.Add(TensorSource.FromPointer(new TensorSpec("state2", DType.F32, [buffers.StateLength]), s2.Pointer));
            if (optimizer.Count > 0)
            {
                SafetensorsWriter.Write(Path.Combine(temp, OptimizerFile), optimizer);
                afterFile?.Invoke(Path.Combine(temp, OptimizerFile));
            }
            AtomicFile.WriteAllText(Path.Combine(temp, RunState.FileName), JsonSerializer.Serialize(state, RunState.Json) + "\n");
        });
    }

    public static RunState ReadState(string folder)
    {
        ModelFolder.RecoverReplace(folder);
        string path = Path.Combine(folder, RunState.FileName);
        if (!File.Exists(path)) throw CheckpointErrors.Fail(CheckpointError.NoCheckpoint, path, null, "no checkpoint here (run.json missing)");
        try
        {
            var state = JsonSerializer.Deserialize<RunState>(File.ReadAllBytes(path), RunState.Json)
                        ?? throw CheckpointErrors.Fail(CheckpointError.Empty, path, null, "empty run state");
            if (state.Version != RunState.CurrentVersion)
                throw CheckpointErrors.Fail(CheckpointError.UnsupportedVersion, path, "version", $"{state.Version}; this OrtZo reads version {RunState.CurrentVersion}");
            return state;
        }
        catch (JsonException e)
        {
            throw CheckpointErrors.Fail(CheckpointError.InvalidJson, path, e.Path is { Length: > 0 } p ? p : "(root)", $"invalid run state: {e.Message}", e);
        }
    }

    /// <summary>Loads the checkpoint's weights and optimizer state into <paramref name="engine"/> (on its device).</summary>
    public static unsafe void Load(string folder, TrainingEngine engine)
    {
        engine.Settle();
        var buffers = engine.Buffers;
        using (var weights = SafetensorsFile.Open(Path.Combine(folder, WeightsFile)))
            buffers.Slab.CopyFrom(weights);
        if (buffers.State1 is not null)
        {
            string optPath = Path.Combine(folder, OptimizerFile);
            using var opt = SafetensorsFile.Open(optPath);
            CopyState(opt, "state1", buffers.State1, buffers.StateLength);
            if (buffers.State2 is { } s2) CopyState(opt, "state2", s2, buffers.StateLength);
        }
        engine.Upload();
    }

    private static unsafe void CopyState(SafetensorsFile file, string name, NativeBuffer destination, long length)
    {
        var entry = file.Get(name);
        if (entry.Spec.DType != DType.F32 || entry.Spec.ElementCount != length)
            throw WeightStoreErrors.Fail(WeightStoreError.ShapeMismatch, file.FilePath, name,
                $"{entry.Spec.DType.ToSafetensorsName()} {entry.Spec.ShapeText}, expected F32 [{length}]");
        Buffer.MemoryCopy(file.GetPointer(entry), destination.Pointer, destination.ByteLength, entry.Spec.ByteLength);
    }
}
