using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;

namespace OrtZo.Import;

/// <summary>
/// <c>ortzo import</c>: the ONNX conversion of <see cref="CausalLmImporter"/>, checked by ONNX Runtime before the
/// folder is published — by level, ORT loads the graph and sees every weight as an input of the manifest's shape,
/// and one scoring forward gives finite scores.
/// </summary>
internal static class ModelImport
{
    public static ImportReport Import(string sourceModelOrFolder, string outputFolder, ImportOptions? options = null)
    {
        options ??= new ImportOptions();
        var level = options.Verify;
        return CausalLmImporter.Import(sourceModelOrFolder, outputFolder, options, (folder, manifest) =>
        {
            if (level >= ImportVerification.Session) VerifySession(Path.Combine(folder, manifest.Graph), manifest);
            if (level >= ImportVerification.Forward) VerifyForward(folder, manifest);
        });
    }

    private static OrtZoException Fail(string path, string? subject, string message) =>
        OnnxErrors.Fail(OnnxError.VerificationFailed, path, subject, message);

    private static void VerifySession(string path, ModelManifest manifest)
    {
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1 };
            using var session = new InferenceSession(path, options);
            if (session.OverridableInitializerMetadata.Count > 0)
                throw Fail(path, $"initializer '{session.OverridableInitializerMetadata.Keys.First()}'", "ORT sees it as overridable (it shares a graph input's name)");
            foreach (var w in manifest.WeightInputs)
            {
                if (!session.InputMetadata.TryGetValue(w.Name, out var meta))
                    throw Fail(path, $"weight '{w.Name}'", "ORT does not list it among the session's inputs");
                if (!meta.Dimensions.Select(d => (long)d).SequenceEqual(w.Shape))
                    throw Fail(path, $"weight '{w.Name}'", $"ORT sees shape [{string.Join(", ", meta.Dimensions)}], the manifest [{string.Join(", ", w.Shape)}]");
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw OnnxErrors.Fail(OnnxError.VerificationFailed, path, null, $"ONNX Runtime cannot load the converted graph: {e.Message}", e);
        }
    }

    private static void VerifyForward(string folder, ModelManifest manifest)
    {
        int seq = Math.Max(2, Math.Min(4, manifest.MaxLength > 0 ? manifest.MaxLength : 4));
        int vocab = Math.Max(1, manifest.VocabSize);
        var ids = Enumerable.Range(0, seq).Select(i => (long)(i % vocab)).ToArray();
        var labels = Enumerable.Range(0, seq).Select(i => i == 0 ? 0f : 1f).ToArray();
        try
        {
            using var runner = ImportedModelRunner.Open(folder);
            var scores = runner.Score(ids, 1, seq, null, labels);
            if (!float.IsFinite(scores.SumLogprob[0]) || !float.IsFinite(scores.MeanLogprob[0]))
                throw Fail(Path.Combine(folder, manifest.Graph), $"output '{manifest.Outputs.SumLogprob}'",
                    $"a smoke forward on ids [{string.Join(", ", ids)}] gave {scores.SumLogprob[0]}; expected a finite score");
        }
        catch (OnnxRuntimeException e)
        {
            throw OnnxErrors.Fail(OnnxError.VerificationFailed, Path.Combine(folder, manifest.Graph), null,
                $"a smoke forward failed in ONNX Runtime: {e.Message}", e);
        }
    }
}
