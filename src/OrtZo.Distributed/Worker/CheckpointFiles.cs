using System.Security.Cryptography;
using OrtZo.Distributed.Protocol;
using OrtZo.Training;

namespace OrtZo.Distributed.Worker;

/// <summary>Checkpoints of a distributed run: where they go, and the SHA-256 that marks a complete, intact one.</summary>
internal static class CheckpointFiles
{
    public static string FolderFor(string runDirectory, long steps) => Path.Combine(runDirectory, "checkpoints", $"step-{steps:D8}");

    public static CheckpointMark Write(ZoTrainer trainer, string runDirectory, long steps)
    {
        string folder = FolderFor(runDirectory, steps);
        trainer.SaveCheckpoint(folder);
        return new CheckpointMark(steps, folder, Sha256(folder));
    }

    /// <summary>Throws when the folder's weight and optimizer files do not hash to the mark's SHA-256.</summary>
    public static void Verify(CheckpointMark mark)
    {
        string actual = Sha256(mark.Folder);
        if (actual != mark.Sha256)
            throw CheckpointErrors.Fail(CheckpointError.DigestMismatch, mark.Folder, null, $"checkpoint SHA-256 {actual} differs from the run log's {mark.Sha256}");
    }

    private static string Sha256(string folder)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string name in new[] { Checkpoint.WeightsFile, Checkpoint.OptimizerFile })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) sha.AppendData(RunInputs.FileSha256(path));
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
