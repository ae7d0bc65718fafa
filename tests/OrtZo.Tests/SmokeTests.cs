using NUnit.Framework;
namespace OrtZo.Tests;
public class SmokeTests
{
    [Test]
    public void OrtLoads() => Assert.That(Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(), Does.StartWith("1."));
}
