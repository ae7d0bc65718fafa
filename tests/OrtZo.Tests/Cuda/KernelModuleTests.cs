using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using NUnit.Framework;
using OrtZo.Cuda;

namespace OrtZo.Tests.Cuda;

public class KernelModuleTests
{
    private static string SourcePath => Path.Combine(TestPaths.RepoRoot, "src", "OrtZo.Cuda", "Kernels", "zo_passes.cu");

    private static string EmbeddedText => KernelModule.Text(KernelModule.EmbeddedPtx());

    [Test]
    public void EmbeddedPtxDeclaresEveryEntryTheLaunchersName()
    {
        var declared = KernelModule.DeclaredEntries(EmbeddedText);
        Assert.That(declared, Is.SupersetOf(KernelModule.EntryPoints));
    }

    [Test]
    public void EntryParsingFindsOnlyVisibleEntries()
    {
        const string ptx = ".visible .entry alpha(\n.param .u64 a\n)\n.func beta(\n.entry gamma(\n  .visible .entry delta_2 (";
        Assert.That(KernelModule.DeclaredEntries(ptx), Is.EquivalentTo(new[] { "alpha", "delta_2" }));
    }

    [Test]
    public void EmbeddedPtxIsBuiltFromTheCurrentSource()
    {
        string expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(SourcePath)));
        Assert.That(KernelModule.SourceSha256(EmbeddedText), Is.EqualTo(expected),
            "zo_passes.ptx is stale: run tools/gpu/build_ptx.sh after changing zo_passes.cu");
    }

    [Test]
    public void EmbeddedPtxTargetsPortableSm80AndNeverApproximates()
    {
        string ptx = EmbeddedText;
        Assert.That(KernelModule.Target(ptx), Is.EqualTo("sm_80"));
        Assert.That(ptx, Does.Contain(".address_size 64"));
        // Approximate or flush-to-zero float instructions would break bit-exactness with the C# oracle.
        Assert.That(Regex.IsMatch(ptx, @"\.(approx|ftz)\b"), Is.False);
        // Unrounded mul/add may be fused by ptxas; every float mul/add/sub/fma must carry .rn.
        Assert.That(Regex.IsMatch(ptx, @"^\s*(mul|add|sub|fma|mad)\.f32\b", RegexOptions.Multiline), Is.False);
    }

    [Test]
    public void DescriptorStructSizesMatchTheKernelSource()
    {
        string source = File.ReadAllText(SourcePath);
        var declared = Regex.Matches(source, @"static_assert\(sizeof\((\w+)\) == (\d+)")
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
        var csharp = new Dictionary<string, int>
        {
            ["PassHeader"] = Marshal.SizeOf<PassHeader>(),
            ["TensorEntry"] = Marshal.SizeOf<TensorEntry>(),
            ["SegmentEntry"] = Marshal.SizeOf<SegmentEntry>(),
            ["DirectionEntry"] = Marshal.SizeOf<DirectionEntry>(),
        };
        Assert.That(declared, Is.EquivalentTo(csharp));
    }

    [Test]
    public void KernelCodesMatchTheKernelSource()
    {
        string source = File.ReadAllText(SourcePath);
        var defines = Regex.Matches(source, @"#define (\w+) (\d+)u")
            .ToDictionary(m => m.Groups[1].Value, m => uint.Parse(m.Groups[2].Value));
        Assert.Multiple(() =>
        {
            Assert.That(defines["DTYPE_F32"], Is.EqualTo(PassDescriptor.DTypeF32));
            Assert.That(defines["DTYPE_F16"], Is.EqualTo(PassDescriptor.DTypeF16));
            Assert.That(defines["DTYPE_BF16"], Is.EqualTo(PassDescriptor.DTypeBf16));
            Assert.That(defines["MASK_DENSE"], Is.EqualTo(PassDescriptor.MaskDense));
            Assert.That(defines["MASK_MAGNITUDE"], Is.EqualTo(PassDescriptor.MaskMagnitude));
            Assert.That(defines["MASK_RANDOM"], Is.EqualTo(PassDescriptor.MaskRandom));
            Assert.That(defines["SEG_REMOVE"], Is.EqualTo(PassDescriptor.SegRemove));
            Assert.That(defines["SEG_UPDATE"], Is.EqualTo(PassDescriptor.SegUpdate));
            Assert.That(defines["SEG_APPLY"], Is.EqualTo(PassDescriptor.SegApply));
            Assert.That(defines["SEG_RECOMPUTE_MASK"], Is.EqualTo(PassDescriptor.SegRecomputeMask));
            Assert.That(defines["SEG_STOCHASTIC_ROUNDING"], Is.EqualTo(PassDescriptor.SegStochasticRounding));
            Assert.That(defines["RULE_SGD"], Is.EqualTo(PassDescriptor.RuleSgd));
            Assert.That(defines["RULE_SIGN"], Is.EqualTo(PassDescriptor.RuleSign));
            Assert.That(defines["RULE_MOMENTUM"], Is.EqualTo(PassDescriptor.RuleMomentum));
            Assert.That(defines["RULE_ADAM"], Is.EqualTo(PassDescriptor.RuleAdam));
            Assert.That(defines["RULE_COMMIT_OFFSET"], Is.EqualTo(PassDescriptor.RuleCommitOffset));
            Assert.That(defines["STREAM_PERTURBATION"], Is.EqualTo((uint)OrtZo.Engine.Rng.NoiseStream.Perturbation));
            Assert.That(defines["STREAM_STOCHASTIC_ROUNDING"], Is.EqualTo((uint)OrtZo.Engine.Rng.NoiseStream.StochasticRounding));
            Assert.That(defines["STREAM_RANDOM_MASK"], Is.EqualTo((uint)OrtZo.Engine.Rng.NoiseStream.RandomMask));
        });
    }

    [TestCase(0L, 132, 1u)]
    [TestCase(1L, 132, 1u)]
    [TestCase(256L, 132, 1u)]
    [TestCase(257L, 132, 2u)]
    [TestCase(1_000_000_000L, 132, 1056u)]
    public void LaunchConfigurationCoversSmallWorkAndCapsLargeWork(long items, int sms, uint grid)
    {
        var c = LaunchConfiguration.For(items, sms);
        Assert.That(c.GridX, Is.EqualTo(grid));
        Assert.That(c.BlockX, Is.EqualTo(LaunchConfiguration.ThreadsPerBlock));
    }
}
