using OrtZo.Import;

namespace OrtZo.Tests;

/// <summary>Transformers exports imported once per test class, into that class's temporary folder.</summary>
internal sealed class ImportedHfExports(string root)
{
    private readonly Dictionary<string, string> _folders = new(StringComparer.Ordinal);

    /// <summary>The imported folder of <paramref name="export"/> (the test is ignored where the export is absent).</summary>
    public string this[string export]
    {
        get
        {
            string source = TestPaths.HfExport(export);
            if (!_folders.TryGetValue(export, out var folder))
            {
                folder = Path.Combine(root, "import-" + export);
                ModelImport.Import(source, folder);
                _folders[export] = folder;
            }
            return folder;
        }
    }
}
