using NUnit.Framework;
using OrtZo.Peft;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Errors;

/// <summary>
/// One case per way an adapter folder, or a request to open one, can be wrong (<see cref="AdapterFolderError"/>): the
/// adapters of a real LoRA model saved once, copied, and broken one way at a time.
/// </summary>
public class AdapterFolderErrorTests
{
    private TempFolder _temp = null!;
    private string _adapters = "", _cache = "", _rewritten = "";

    [OneTimeSetUp]
    public void SaveAdapters()
    {
        _temp = new TempFolder("badadapters");
        _cache = Path.Combine(_temp.Path, "cache");
        _adapters = Path.Combine(_temp.Path, "adapters");
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Lora);
        model.Save(_adapters);
        _rewritten = model.Folder.Path;
    }

    [OneTimeTearDown]
    public void Remove() => _temp.Dispose();

    private PeftOptions Lora => new() { Scheme = PeftScheme.Lora, CacheFolder = _cache };

    private static string Manifest(string folder) => Path.Combine(folder, "ortzo.json");

    private sealed record Case(Action<string> Break, Func<AdapterFolderErrorTests, string, Action> Trigger, OrtZoErrorKind Kind, string Names);

    private static Action Open(string folder) => () => ZoModel.Open(folder, threads: 2).Dispose();

    private static readonly Dictionary<AdapterFolderError, Case> Cases = new()
    {
        [AdapterFolderError.ManifestInvalidJson] = new(f => ErrorFixtures.EditJson(Manifest(f), m => m["version"] = "two"), (_, f) => Open(f), OrtZoErrorKind.InvalidAdapter, "invalid adapter manifest"),
        [AdapterFolderError.UnsupportedVersion] = new(f => ErrorFixtures.EditJson(Manifest(f), m => m["version"] = 1), (_, f) => Open(f), OrtZoErrorKind.InvalidAdapter, "version: 1; this OrtZo reads adapter folders of version 2"),
        [AdapterFolderError.NoAdapters] = new(f => ErrorFixtures.EditJson(Manifest(f), m => m["peft"]!["scheme"] = "full"), (_, f) => Open(f), OrtZoErrorKind.InvalidAdapter, "peft.scheme: 'full'"),
        [AdapterFolderError.AdaptersFileMissing] = new(f => File.Delete(Path.Combine(f, "adapters.safetensors")), (_, f) => Open(f), OrtZoErrorKind.InvalidAdapter, "adapters: names 'adapters.safetensors'"),
        [AdapterFolderError.BaseMissing] = new(f => ErrorFixtures.EditJson(Manifest(f), m => { m["base_folder"] = "/no/such/base"; m["base_folder_relative"] = "../no-such-base"; }),
            (_, f) => Open(f), OrtZoErrorKind.InvalidAdapter, "base_folder: '/no/such/base' does not exist"),
        [AdapterFolderError.BaseChanged] = new(f => ErrorFixtures.EditJson(Manifest(f), m => m["base_weights_sha256"] = new string('0', 64)), (_, f) => Open(f),
            OrtZoErrorKind.InvalidAdapter, "is not the one the adapters were trained on"),
        [AdapterFolderError.OptionsDiffer] = new(_ => { }, (t, f) => () => ZoModel.Open(f, threads: 2, peft: t.Lora with { LoraRank = 4 }).Dispose(),
            OrtZoErrorKind.InvalidOption, "the options given describe"),
        [AdapterFolderError.AlreadyRewritten] = new(_ => { }, (t, _) => () => ZoModel.Open(t._rewritten, threads: 2, peft: t.Lora).Dispose(),
            OrtZoErrorKind.InvalidAdapter, "already holds adapters"),
    };

    public static IEnumerable<TestCaseData> Reasons() => Cases.Keys.Select(r => new TestCaseData(r.ToString()).SetName($"adapter folder: {r}"));

    internal static IEnumerable<Enum> Covered => Cases.Keys.Cast<Enum>();

    [TestCaseSource(nameof(Reasons))]
    public void EachWayAnAdapterFolderIsWrongHasItsOwnError(string reasonName)
    {
        var reason = Enum.Parse<AdapterFolderError>(reasonName);
        var c = Cases[reason];
        string folder = Path.Combine(_temp.Path, $"copy-{reason}");
        ErrorFixtures.CopyFolder(_adapters, folder);
        c.Break(folder);
        var e = Assert.Throws<OrtZoException>(() => c.Trigger(this, folder)())!;
        Assert.That(e.Reason, Is.EqualTo(reason), e.Message);
        Assert.That(e.Kind, Is.EqualTo(c.Kind));
        Assert.That(e.Message, Does.Contain(reason == AdapterFolderError.AlreadyRewritten ? _rewritten : folder).And.Contain(c.Names));
    }
}
