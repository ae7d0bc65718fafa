using System.Text.Json;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// The texts tokenizers are compared on: the 30 golden texts (contractions, digits, whitespace runs, accents, emoji,
/// CJK, empty), runs of one letter (where merge ranks and SentencePiece scores part ways), and texts around the given
/// special tokens (at the start, between words, before newlines and doubled).
/// </summary>
internal static class TokenizerCorpus
{
    public static IReadOnlyList<string> Golden() =>
        JsonSerializer.Deserialize<List<string>>(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "tokenizers", "golden_texts.json")))!;

    /// <summary>Texts that name no special token of the fixtures' vocabularies.</summary>
    public static IReadOnlyList<string> Extras { get; } =
    [
        "12345678901 1 22 333 4444 55555", "x=1234;y = 56789.0", "   leading and trailing   ", "\n\n\n", "a\r\nb\r\n\r\nc",
        "They'll say it's 'quoted' and DON'T/WON'T", "naïve café — “quotes” … ½ ² Ⅻ", "日本語のテキスト 한국어 Ελληνικά русский",
        "emoji 👍🏽 and 🧑‍🚀 family", "tabs\t\tand\u00a0nbsp", "def f(x):\n    return x ** 2  # comment", new string('a', 40), "zzzzzzzzzzz eeeeeeee",
        "if x != y: print(\"a\", \"b\")", "s = \"\"\"doc\"\"\" + \"\" !!", // quotes and "!" inside merges of Python-source vocabularies
    ];

    public static IEnumerable<string> AroundSpecials(IEnumerable<string> specials) =>
        specials.SelectMany(s => new[] { $"{s}Hello{s} world {s}", $"{s}\n{s}{s} 42" });

    public static IEnumerable<string> Texts(params string[] specials) => Golden().Concat(Extras).Concat(AroundSpecials(specials));
}
