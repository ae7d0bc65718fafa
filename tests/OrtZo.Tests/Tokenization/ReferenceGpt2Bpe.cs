using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// GPT-2's encoder.py written plainly, as the oracle for byte-level BPE: split with GPT-2's regex, spell each
/// piece's UTF-8 bytes in GPT-2's byte alphabet, then repeatedly merge every occurrence of the adjacent pair
/// with the lowest merge rank until no pair is in the merge list.
/// </summary>
internal sealed class ReferenceGpt2Bpe
{
    private static readonly Regex Gpt2Split = new(
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<(string, string), int> _ranks = new();
    private readonly string[] _byteSymbol = new string[256];

    public ReferenceGpt2Bpe(string vocabJson, string mergesText)
    {
        _ids = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson)!;
        string[] lines = mergesText.Split('\n');
        int rank = 0;
        foreach (string line in lines.Skip(1).Where(l => l.Length > 0))
        {
            string[] parts = line.Split(' ');
            _ranks.TryAdd((parts[0], parts[1]), rank++);
        }
        // bytes_to_unicode from encoder.py.
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToList();
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            _byteSymbol[b] = printable.Contains(b) ? ((char)b).ToString() : ((char)(256 + extra++)).ToString();
        }
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        foreach (Match piece in Gpt2Split.Matches(text))
        {
            List<string> word = Encoding.UTF8.GetBytes(piece.Value).Select(b => _byteSymbol[b]).ToList();
            while (word.Count > 1)
            {
                (string, string)? best = null;
                int bestRank = int.MaxValue;
                for (int i = 0; i + 1 < word.Count; i++)
                {
                    if (_ranks.TryGetValue((word[i], word[i + 1]), out int rank) && rank < bestRank)
                    {
                        bestRank = rank;
                        best = (word[i], word[i + 1]);
                    }
                }
                if (best is null)
                {
                    break;
                }
                var merged = new List<string>();
                for (int i = 0; i < word.Count; i++)
                {
                    if (i + 1 < word.Count && (word[i], word[i + 1]) == best.Value)
                    {
                        merged.Add(word[i] + word[i + 1]);
                        i++;
                    }
                    else
                    {
                        merged.Add(word[i]);
                    }
                }
                word = merged;
            }
            ids.AddRange(word.Select(symbol => _ids[symbol]));
        }
        return [.. ids];
    }
}
