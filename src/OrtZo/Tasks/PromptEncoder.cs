using OrtZo.Tokenization;

using OrtZo;
namespace OrtZo.Tasks;

/// <summary>
/// MeZO's <c>encode_prompt</c> (large_models/utils.py) for one example without demonstrations, which is
/// how MeZO trains and evaluates:
/// <list type="number">
/// <item>prompt = encode(example).strip(' '); verbalized = verbalize(example, c).strip(' ') per candidate;</item>
/// <item>option length = len(tokenize(verbalized)) − len(tokenize(prompt)), special tokens counted in both;</item>
/// <item>the row is tokenize(verbalized.lstrip()): MeZO joins "\n\n" before the (empty) demonstrations and
/// lstrips the whole, which removes any leading whitespace of the example too;</item>
/// <item>rows longer than the maximum lose tokens on the left, keeping the first token when the tokenizer
/// adds BOS.</item>
/// </list>
/// Only spaces are stripped around the prompt, so a prompt ending in "\n" keeps it, and the candidate's
/// first token is whatever the tokenizer makes of the join (" great" after "It was", "Yes" after "\n").
/// </summary>
internal static class PromptEncoder
{
    /// <param name="location">Where the example came from ("example N"), for the error when a candidate adds no token.</param>
    public static EncodedExample Encode(TemplatedExample example, TextTokenizer tokenizer, int maxLength, string location)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        int promptLength = tokenizer.Encode(example.Prompt.Trim(' ')).Length;
        int count = example.Candidates.Count;
        var rows = new int[count][];
        var optionLengths = new int[count];
        for (int c = 0; c < count; c++)
        {
            string verbalized = (example.Prompt + example.Candidates[c]).Trim(' ');
            int[] tokens = tokenizer.Encode(verbalized);
            optionLengths[c] = tokens.Length - promptLength;
            if (optionLengths[c] <= 0)
            {
                // MeZO would score the whole row here ([-0:] is everything); refuse instead.
                throw TaskErrors.Fail(TaskDataError.EmptyCandidate, location, $"candidates[{c}]",
                    $"candidate {c} (\"{example.Candidates[c]}\") adds {optionLengths[c]} tokens after the prompt; expected at least one token to score");
            }
            string final = PythonText.LStrip(verbalized);
            if (final.Length != verbalized.Length)
            {
                tokens = tokenizer.Encode(final);
            }
            rows[c] = TruncateLeft(tokens, maxLength, tokenizer.AddsBos);
            if (rows[c].Length < 2)
            {
                throw TaskErrors.Fail(TaskDataError.EmptyCandidate, location, $"candidates[{c}]",
                    $"candidate {c} is the row's only token, so nothing predicts it; expected a non-empty prompt or a tokenizer that adds BOS");
            }
        }
        return new EncodedExample(rows, optionLengths, example.Gold, example.Group);
    }

    private static int[] TruncateLeft(int[] tokens, int maxLength, bool keepFirst)
    {
        if (tokens.Length <= maxLength)
        {
            return tokens;
        }
        return keepFirst
            ? [tokens[0], .. tokens.AsSpan(tokens.Length - (maxLength - 1))]
            : tokens[^maxLength..];
    }
}
