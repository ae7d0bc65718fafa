using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Tests.Onnx;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Errors;

/// <summary>The reasons of the safetensors and ONNX families that their own test files did not assert.</summary>
public class FileKindGapTests
{
    [Test]
    public void AWriteTheOperatingSystemRefusesIsAnIoErrorAndLeavesNothing()
    {
        using var temp = new TempFolder("io");
        string notAFolder = Path.Combine(temp.Path, "file");
        File.WriteAllText(notAFolder, "");
        string target = Path.Combine(notAFolder, "weights.safetensors");
        var e = Assert.Throws<OrtZoException>(() => SafetensorsWriter.Write(target, [TensorSource.FromFloats(new TensorSpec("a", DType.F32, [2]), [1f, 2f])]))!;
        Assert.That((e.Kind, e.Reason, e.File), Is.EqualTo((OrtZoErrorKind.Io, (Enum)WeightStoreError.Io, target)));
        Assert.That(Directory.GetFileSystemEntries(temp.Path), Is.EqualTo(new[] { notAFolder }), "no temporary file is left");
    }

    [Test]
    public void AFolderWhoseGraphDoesNotKeepTheManifestsPromisesFailsVerification()
    {
        using var temp = new TempFolder("verify");
        string folder = Path.Combine(temp.Path, "model");
        ErrorFixtures.CopyFolder(TestPaths.Stories260k, folder);
        var manifest = ModelFolder.ReadManifest(Path.Combine(folder, ModelManifest.FileName));
        var lying = manifest with { WeightInputs = [.. manifest.WeightInputs, manifest.WeightInputs[0] with { Name = "not.in.the.graph" }] };
        var e = Assert.Throws<OrtZoException>(() => ModelFolderStructure.Verify(folder, lying))!;
        Assert.That((e.Kind, e.Reason), Is.EqualTo((OrtZoErrorKind.InvalidOnnx, (Enum)OnnxError.VerificationFailed)));
        Assert.That(e.Message, Does.Contain("model.onnx").And.Contain("weight 'not.in.the.graph'"));
    }
}
