using System.Buffers.Binary;
using System.Text;

namespace OrtZo.Tests.Tokenization;

/// <summary>
/// llama2.c's own <c>encode</c> (run.c), written plainly from its description, as the oracle for the
/// converted tokenizer: prepend the token for " " (the dummy prefix) unless the text is empty; look each UTF-8
/// code point up as a token, falling back to one byte token per byte (id = byte + 3); then repeatedly merge the
/// adjacent pair whose concatenated text is a token with the highest score (the first such pair on ties).
/// </summary>
internal sealed class ReferenceLlama2cEncoder
{
    private readonly List<(float Score, string Text)> _vocab = new();
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public ReferenceLlama2cEncoder(byte[] tokenizerBin)
    {
        int offset = 4;
        while (offset < tokenizerBin.Length)
        {
            float score = BinaryPrimitives.ReadSingleLittleEndian(tokenizerBin.AsSpan(offset));
            int length = BinaryPrimitives.ReadInt32LittleEndian(tokenizerBin.AsSpan(offset + 4));
            string text = Encoding.UTF8.GetString(tokenizerBin, offset + 8, length);
            offset += 8 + length;
            _ids.TryAdd(text, _vocab.Count);
            _vocab.Add((score, text));
        }
    }

    public List<int> Encode(string text)
    {
        var tokens = new List<int>();
        if (text.Length == 0)
        {
            return tokens;
        }
        tokens.Add(_ids[" "]);
        for (int i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
        {
            string codePoint = char.IsSurrogatePair(text, i) ? text.Substring(i, 2) : text.Substring(i, 1);
            if (_ids.TryGetValue(codePoint, out int id))
            {
                tokens.Add(id);
            }
            else
            {
                tokens.AddRange(Encoding.UTF8.GetBytes(codePoint).Select(b => b + 3));
            }
        }
        for (;;)
        {
            float bestScore = -1e10f;
            int bestId = -1, bestIndex = -1;
            for (int i = 0; i + 1 < tokens.Count; i++)
            {
                string merged = _vocab[tokens[i]].Text + _vocab[tokens[i + 1]].Text;
                if (_ids.TryGetValue(merged, out int id) && _vocab[id].Score > bestScore)
                {
                    bestScore = _vocab[id].Score;
                    bestId = id;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0)
            {
                return tokens;
            }
            tokens[bestIndex] = bestId;
            tokens.RemoveAt(bestIndex + 1);
        }
    }
}
