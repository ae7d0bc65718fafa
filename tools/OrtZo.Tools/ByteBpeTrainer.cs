using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

using OrtZo.Tokenization;

namespace OrtZo.Tools;

/// <summary>
/// Trains a small GPT-2 style byte-level BPE vocabulary, deterministically, for test models that need a
/// real tokenizer without a download. Ids 0..255 are the single bytes (spelled with
/// <see cref="Gpt2ByteAlphabet"/>), then one id per merge in the order learned, then the special tokens.
/// Words are split with the same GPT-2 regex the "byte-bpe" <see cref="TextTokenizer"/> uses, so merges
/// never cross a split the tokenizer makes.
/// </summary>
internal static class ByteBpeTrainer
{
    /// <summary>GPT-2's end-of-text token; the default (and only) special token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>
    /// Learns merges from <paramref name="texts"/> until the vocabulary holds exactly <paramref name="vocabSize"/>
    /// tokens (256 bytes + merges + special tokens). Each step merges the most frequent adjacent pair; ties go
    /// to the pair with the smaller left id, then the smaller right id, so the result depends on nothing but
    /// the input.
    /// </summary>
    /// <exception cref="ArgumentException">The corpus runs out of pairs before the vocabulary is full.</exception>
    public static ByteBpeVocabulary Train(IEnumerable<string> texts, int vocabSize, IReadOnlyList<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        specialTokens ??= [EndOfText];
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 256 + specialTokens.Count);

        var tokens = new List<string>(vocabSize);
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            string symbol = Gpt2ByteAlphabet.ForByte((byte)b).ToString();
            idOf.Add(symbol, tokens.Count);
            tokens.Add(symbol);
        }

        var corpus = new WordCorpus(CountWords(texts));
        var merges = new List<(int Left, int Right)>();
        int learnedSize = vocabSize - specialTokens.Count;
        while (tokens.Count < learnedSize)
        {
            if (!corpus.TryTakeMostFrequentPair(out int left, out int right))
            {
                throw OptionErrors.Fail(OptionError.OutOfRange, "--vocab",
                    $"{vocabSize} is too large for the corpus: no adjacent pair is left after {merges.Count} merges");
            }
            // Two merges can spell the same string ("a"+"bc" and "ab"+"c"); as in Hugging Face's trainer,
            // the second keeps its merge line but reuses the token, so the vocabulary grows by one token
            // per new string only.
            string spelled = tokens[left] + tokens[right];
            if (!idOf.TryGetValue(spelled, out int merged))
            {
                merged = tokens.Count;
                idOf.Add(spelled, merged);
                tokens.Add(spelled);
            }
            merges.Add((left, right));
            corpus.Merge(left, right, merged);
        }

        foreach (string special in specialTokens)
        {
            if (!idOf.TryAdd(special, tokens.Count))
            {
                throw new ArgumentException($"Special token '{special}' collides with a learned token.", nameof(specialTokens));
            }
            tokens.Add(special);
        }

        return new ByteBpeVocabulary(WriteVocabJson(tokens), WriteMergesText(tokens, merges), tokens.Count, learnedSize);
    }

    /// <summary>Pre-token → frequency, each pre-token as its byte ids, in first-seen order (for determinism).</summary>
    private static List<(int[] Symbols, long Count)> CountWords(IEnumerable<string> texts)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var words = new List<(int[] Symbols, long Count)>();
        foreach (string text in texts)
        {
            foreach ((int offset, int length) in RobertaPreTokenizer.Instance.PreTokenize(text))
            {
                string word = text.Substring(offset, length);
                if (index.TryGetValue(word, out int at))
                {
                    words[at] = (words[at].Symbols, words[at].Count + 1);
                }
                else
                {
                    index.Add(word, words.Count);
                    words.Add((Encoding.UTF8.GetBytes(word).Select(b => (int)b).ToArray(), 1));
                }
            }
        }
        return words;
    }

    private static string WriteVocabJson(List<string> tokens)
    {
        // Non-ASCII spelled characters ("Ġ", "Ċ", ...) are written as themselves, as Hugging Face writes them.
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            for (int id = 0; id < tokens.Count; id++)
            {
                json.WriteNumber(tokens[id], id);
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string WriteMergesText(List<string> tokens, List<(int Left, int Right)> merges)
    {
        var text = new StringBuilder("#version: 0.2\n");
        foreach ((int left, int right) in merges)
        {
            text.Append(tokens[left]).Append(' ').Append(tokens[right]).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// The words being merged, with pair counts kept up to date incrementally: a merge only revisits the
    /// words that contain the merged pair.
    /// </summary>
    private sealed class WordCorpus
    {
        private readonly List<(int[] Symbols, long Count)> _words;
        private readonly Dictionary<(int, int), long> _pairCounts = new();
        private readonly Dictionary<(int, int), HashSet<int>> _wordsWithPair = new();
        // Ordered by count descending, then left id, then right id: Min is the next merge.
        private readonly SortedSet<(long NegativeCount, int Left, int Right)> _ranking = new();

        public WordCorpus(List<(int[] Symbols, long Count)> words)
        {
            _words = words;
            for (int w = 0; w < words.Count; w++)
            {
                AddPairs(w, words[w].Symbols, words[w].Count);
            }
        }

        public bool TryTakeMostFrequentPair(out int left, out int right)
        {
            if (_ranking.Count == 0)
            {
                left = right = -1;
                return false;
            }
            (_, left, right) = _ranking.Min;
            return true;
        }

        public void Merge(int left, int right, int merged)
        {
            int[] containing = [.. _wordsWithPair[(left, right)].Order()];
            foreach (int w in containing)
            {
                (int[] symbols, long count) = _words[w];
                RemovePairs(w, symbols, count);
                int[] next = MergeSymbols(symbols, left, right, merged);
                _words[w] = (next, count);
                AddPairs(w, next, count);
            }
        }

        private static int[] MergeSymbols(int[] symbols, int left, int right, int merged)
        {
            var next = new List<int>(symbols.Length);
            for (int i = 0; i < symbols.Length; i++)
            {
                if (i + 1 < symbols.Length && symbols[i] == left && symbols[i + 1] == right)
                {
                    next.Add(merged);
                    i++;
                }
                else
                {
                    next.Add(symbols[i]);
                }
            }
            return [.. next];
        }

        private void AddPairs(int word, int[] symbols, long count)
        {
            for (int i = 0; i + 1 < symbols.Length; i++)
            {
                var pair = (symbols[i], symbols[i + 1]);
                Adjust(pair, count);
                if (!_wordsWithPair.TryGetValue(pair, out HashSet<int>? set))
                {
                    _wordsWithPair[pair] = set = [];
                }
                set.Add(word);
            }
        }

        private void RemovePairs(int word, int[] symbols, long count)
        {
            for (int i = 0; i + 1 < symbols.Length; i++)
            {
                var pair = (symbols[i], symbols[i + 1]);
                Adjust(pair, -count);
                _wordsWithPair[pair].Remove(word);
            }
        }

        private void Adjust((int Left, int Right) pair, long delta)
        {
            long old = _pairCounts.GetValueOrDefault(pair);
            long now = old + delta;
            if (old > 0)
            {
                _ranking.Remove((-old, pair.Left, pair.Right));
            }
            if (now > 0)
            {
                _ranking.Add((-now, pair.Left, pair.Right));
                _pairCounts[pair] = now;
            }
            else
            {
                _pairCounts.Remove(pair);
            }
        }
    }
}

/// <summary>A trained byte-level BPE vocabulary: the two files the "byte-bpe" <see cref="TextTokenizer"/> reads.</summary>
/// <param name="VocabJson">vocab.json: token string → id.</param>
/// <param name="MergesText">merges.txt: "#version" line, then one "left right" merge per line, in rank order.</param>
/// <param name="VocabSize">Number of tokens (ids 0..VocabSize-1).</param>
/// <param name="FirstSpecialId">Id of the first special token; the special tokens follow in the order given
/// (with the default list, this is the id of <see cref="ByteBpeTrainer.EndOfText"/>).</param>
internal sealed record ByteBpeVocabulary(string VocabJson, string MergesText, int VocabSize, int FirstSpecialId)
{

    /// <summary>Writes vocab.json and merges.txt into <paramref name="folder"/> (created if absent).</summary>
    public void WriteTo(string folder)
    {
        Directory.CreateDirectory(folder);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(Path.Combine(folder, TextTokenizer.VocabFileName), VocabJson, utf8);
        File.WriteAllText(Path.Combine(folder, TextTokenizer.MergesFileName), MergesText, utf8);
    }
}
