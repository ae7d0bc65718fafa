using NUnit.Framework;
using OrtZo.Cuda;

namespace OrtZo.Tests.Cuda;

public class CudaDriverTests
{
    [Test]
    public void FailureNamesTheCallAndTheTableErrorWithoutADriver()
    {
        var e = CudaDriver.Failure(2, "cuMemAlloc_v2", driverLookup: null);
        Assert.That(e.Call, Is.EqualTo("cuMemAlloc_v2"));
        Assert.That(e.Result, Is.EqualTo(2));
        Assert.That(e.ErrorName, Is.EqualTo("CUDA_ERROR_OUT_OF_MEMORY"));
        Assert.That(e.Message, Is.EqualTo("CUDA driver call cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory"));
    }

    [Test]
    public void TheDriversOwnNamePrevailsOverTheTable()
    {
        var e = CudaDriver.Failure(700, "cuLaunchKernel", code => code == 700 ? ("DRIVER_NAME_700", "driver text 700") : (null, null));
        Assert.That(e.Message, Is.EqualTo("CUDA driver call cuLaunchKernel failed: DRIVER_NAME_700 (700): driver text 700"));
    }

    [Test]
    public void TheTableAnswersWhenTheDriverDoesNotKnowTheCode()
    {
        var e = CudaDriver.Failure(218, "cuModuleLoadData", _ => (null, null));
        Assert.That(e.ErrorName, Is.EqualTo("CUDA_ERROR_INVALID_PTX"));
        Assert.That(e.Message, Does.Contain("cuModuleLoadData"));
    }

    [Test]
    public void AnUnknownCodeStillProducesAReadableMessage()
    {
        var e = CudaDriver.Failure(123456, "cuStreamCreate", driverLookup: null);
        Assert.That(e.Message, Does.Contain("cuStreamCreate").And.Contain("123456"));
    }

    [Test]
    public void SuccessDoesNotThrow() => Assert.DoesNotThrow(() => CudaDriver.Check(0, "cuInit"));

    [Test]
    public void NonZeroResultThrowsThroughTheFunnel()
    {
        var e = Assert.Throws<CudaException>(() => CudaDriver.Check(1, "cuDeviceGet"))!;
        Assert.That(e.Call, Is.EqualTo("cuDeviceGet"));
        Assert.That(e.Result, Is.EqualTo(1));
    }

    [Test]
    public void AMissingLibraryIsReportedAsASentence()
    {
        string? reason = CudaDriver.ProbeLibrary("libortzo-no-such-driver.so.1");
        Assert.That(reason, Does.Contain("libortzo-no-such-driver.so.1").And.Contain("--device cpu"));
    }

    [Test]
    public void WithoutADriverOpeningAContextFailsClearly()
    {
        if (CudaDriver.IsAvailable) Assert.Ignore("this machine has a CUDA driver; the no-driver path cannot be exercised");
        var e = Assert.Throws<CudaUnavailableException>(() => CudaContext.Open(0))!;
        Assert.That(e.Message, Does.Contain("libcuda.so.1"));
        Assert.Throws<CudaUnavailableException>(() => CudaDriver.DriverVersion());
    }

    [Test]
    public void DriverVersionsFormatAsMajorMinor()
    {
        Assert.That(CudaDriver.FormatVersion(13000), Is.EqualTo("13.0"));
        Assert.That(CudaDriver.FormatVersion(12080), Is.EqualTo("12.8"));
    }
}
