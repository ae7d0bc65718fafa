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
    public void AnExplicitPluginLibraryWinsOverTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(CudaProviderSettings.PluginLibraryVariable);
        try
        {
            Environment.SetEnvironmentVariable(CudaProviderSettings.PluginLibraryVariable, "/from/env.so");
            Assert.That(new CudaProviderSettings().ResolvedPluginLibrary, Is.EqualTo("/from/env.so"));
            Assert.That(new CudaProviderSettings(PluginLibrary: "/given.so").ResolvedPluginLibrary, Is.EqualTo("/given.so"));
            Environment.SetEnvironmentVariable(CudaProviderSettings.PluginLibraryVariable, null);
            Assert.That(new CudaProviderSettings().ResolvedPluginLibrary, Is.Null);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CudaProviderSettings.PluginLibraryVariable, saved);
        }
    }

    [Test]
    public void DeviceCudaFailsWithADriverSentenceOnThisMachine()
    {
        if (CudaDriver.IsAvailable) Assert.Ignore("this machine has a CUDA driver");
        var e = Assert.Throws<OrtZoException>(() => ExecutionProviders.CreateSessionOptions(ZoDevice.Cuda(), 1).Dispose())!;
        Assert.That(e.Message, Does.Contain("libcuda.so.1").And.Contain("--device cpu"));
        Assert.That((e.Kind, e.Reason), Is.EqualTo((OrtZoErrorKind.DeviceUnavailable, (Enum)DeviceError.NoDriver)));
        using var so = new Microsoft.ML.OnnxRuntime.SessionOptions();
        Assert.Throws<CudaUnavailableException>(() => CudaProvider.Append(so, new CudaProviderSettings()));
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
