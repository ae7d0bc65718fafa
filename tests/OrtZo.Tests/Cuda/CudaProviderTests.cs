using NUnit.Framework;
using OrtZo.Cuda;
using OrtZo.Runtime;

namespace OrtZo.Tests.Cuda;

public class CudaProviderTests
{
    [Test]
    public void StreamKeysComeTogetherAndTf32IsOffUnlessAsked()
    {
        var o = CudaProvider.OptionStrings(new CudaProviderSettings(DeviceId: 1, UserComputeStream: (IntPtr)123456789));
        Assert.That(o["device_id"], Is.EqualTo("1"));
        Assert.That(o["use_tf32"], Is.EqualTo("0"));
        Assert.That(o["has_user_compute_stream"], Is.EqualTo("1"));
        Assert.That(o["user_compute_stream"], Is.EqualTo("123456789"));
        Assert.That(CudaProvider.OptionStrings(new CudaProviderSettings(UseTf32: true))["use_tf32"], Is.EqualTo("1"));
    }

    [Test]
    public void WithoutAStreamNeitherStreamKeyIsSet()
    {
        var o = CudaProvider.OptionStrings(new CudaProviderSettings());
        Assert.That(o.Keys, Has.No.Member("has_user_compute_stream").And.No.Member("user_compute_stream"));
    }

    [Test]
    public void DeviceCudaFailsWithADriverSentenceOnThisMachine()
    {
        if (CudaDriver.IsAvailable) Assert.Ignore("this machine has a CUDA driver");
        var e = Assert.Throws<OrtZoException>(() => ExecutionProviders.CreateSessionOptions(ZoDevice.Cuda(), 1).Dispose())!;
        Assert.That(e.Message, Does.Contain("libcuda.so.1").And.Contain("--device cpu"));
        Assert.That((e.Kind, e.Reason), Is.EqualTo((OrtZoErrorKind.DeviceUnavailable, (Enum)DeviceError.NoDriver)));
        using var so = new Microsoft.ML.OnnxRuntime.SessionOptions();
        var append = Assert.Throws<OrtZoException>(() => CudaProvider.Append(so, new CudaProviderSettings()))!;
        Assert.That((append.Kind, append.Reason), Is.EqualTo((OrtZoErrorKind.DeviceUnavailable, (Enum)DeviceError.NoDriver)));
    }

    [Test]
    public void CudaLibrariesAreFoundInTheNamedFolderOrInPipWheelLayouts()
    {
        using var root = new OrtZo.Tests.Onnx.TempFolder("cudalibs");
        string named = Directory.CreateDirectory(Path.Combine(root.Path, "named")).FullName;
        File.WriteAllText(Path.Combine(named, "libcudart.so.13"), "");
        string venv = Path.Combine(root.Path, "venv");
        string wheel = Directory.CreateDirectory(Path.Combine(venv, "lib", "python3.12", "site-packages", "nvidia", "cublas", "lib")).FullName;
        File.WriteAllText(Path.Combine(wheel, "libcublas.so.13.1.0"), "");
        string? savedVenv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        try
        {
            Environment.SetEnvironmentVariable("VIRTUAL_ENV", venv);
            var folders = CudaLibraries.SearchFolders(named).ToList();
            Assert.That(folders[0], Is.EqualTo(named), "the named folder is searched first");
            Assert.That(folders, Does.Contain(wheel));
            Assert.That(CudaLibraries.Find("libcudart.so.13", folders), Is.EqualTo(Path.Combine(named, "libcudart.so.13")));
            Assert.That(CudaLibraries.Find("libcublas.so.13", folders), Is.EqualTo(Path.Combine(wheel, "libcublas.so.13.1.0")), "a versioned file stands for its soname");
            Assert.That(CudaLibraries.Find("libcudnn.so.9", folders), Is.Null);
        }
        finally
        {
            Environment.SetEnvironmentVariable("VIRTUAL_ENV", savedVenv);
        }
    }

    [Test]
    public void AMissingCudaLibraryIsNamed()
    {
        if (CudaDriver.IsAvailable) Assert.Ignore("this machine has a CUDA driver; the libraries may well be there");
        using var empty = new OrtZo.Tests.Onnx.TempFolder("nocudalibs");
        string? saved = Environment.GetEnvironmentVariable(CudaLibraries.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(CudaLibraries.EnvironmentVariable, empty.Path);
            var e = Assert.Throws<OrtZoException>(() => CudaLibraries.Load())!;
            Assert.That(e.Message, Does.Contain(CudaLibraries.Required[0]).And.Contain(CudaLibraries.EnvironmentVariable).And.Contain(empty.Path));
            Assert.That(e.Reason, Is.EqualTo(DeviceError.LibraryMissing));
        }
        finally
        {
            Environment.SetEnvironmentVariable(CudaLibraries.EnvironmentVariable, saved);
        }
    }

    [Test]
    public void TheStreamOrtReportsBackMustBeTheOneGiven()
    {
        var stream = new IntPtr(140234567890L);
        // GetCUDAProviderOptionsAsString's form: key=value pairs, each followed by ';'
        string took = "device_id=0;has_user_compute_stream=1;user_compute_stream=140234567890;use_tf32=0;";
        Assert.That(CudaProvider.StreamMismatch(took, stream), Is.Null);
        Assert.That(CudaProvider.StreamMismatch("device_id=0;has_user_compute_stream=0;user_compute_stream=0;", stream),
            Does.Contain("140234567890").And.Contain("has_user_compute_stream=0"));
        Assert.That(CudaProvider.StreamMismatch("device_id=0;has_user_compute_stream=1;user_compute_stream=99;", stream),
            Does.Contain("user_compute_stream=99"));
        Assert.That(CudaProvider.StreamMismatch("device_id=0;use_tf32=0;", stream), Does.Contain("absent"));
        Assert.That(CudaProvider.StreamMismatch("device_id=0;has_user_compute_stream=0;user_compute_stream=0;", IntPtr.Zero), Is.Null);
        Assert.That(CudaProvider.StreamMismatch(took, IntPtr.Zero), Does.Contain("not asked for"));
    }

    [Test]
    public void ACudaLibraryThatIsThereButDoesNotLoadIsNamedWithTheLoadersReason()
    {
        if (CudaDriver.IsAvailable) Assert.Ignore("this machine has a CUDA driver; the libraries may well be there");
        using var folder = new OrtZo.Tests.Onnx.TempFolder("badcudalibs");
        string bogus = Path.Combine(folder.Path, CudaLibraries.Required[0]);
        File.WriteAllText(bogus, "not an ELF file");
        string? saved = Environment.GetEnvironmentVariable(CudaLibraries.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(CudaLibraries.EnvironmentVariable, folder.Path);
            var e = Assert.Throws<OrtZoException>(() => CudaLibraries.Load())!;
            Assert.That(e.Message, Does.Contain(bogus).And.Contain("does not load"));
            Assert.That(e.Reason, Is.EqualTo(DeviceError.LibraryMissing));
        }
        finally
        {
            Environment.SetEnvironmentVariable(CudaLibraries.EnvironmentVariable, saved);
        }
    }

    [Test]
    public void CudnnSubLibrariesLoadGraphFirst()
    {
        using var folder = new OrtZo.Tests.Onnx.TempFolder("cudnn");
        foreach (string name in new[] { "libcudnn.so.9", "libcudnn_ops.so.9", "libcudnn_graph.so.9", "libcudnn_adv.so.9", "libcudnn_engines_precompiled.so.9" })
            File.WriteAllText(Path.Combine(folder.Path, name), "");
        Assert.That(CudaLibraries.CudnnParts(folder.Path).Select(Path.GetFileName),
            Is.EqualTo(new[] { "libcudnn_graph.so.9", "libcudnn_adv.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_ops.so.9" }));
    }

    [Test]
    public void ChunksCoverTheRangeExactlyOnce()
    {
        Assert.That(Chunks.Of(10, 4), Is.EqualTo(new[] { (0L, 4L), (4L, 4L), (8L, 2L) }));
        Assert.That(Chunks.Of(8, 4), Is.EqualTo(new[] { (0L, 4L), (4L, 4L) }));
        Assert.That(Chunks.Of(0, 4), Is.Empty);
        Assert.That(Chunks.Of(3, 64L << 20), Is.EqualTo(new[] { (0L, 3L) }));
    }
}
