namespace OrtZo.Tasks;

/// <summary>
/// Python's <c>str.strip</c> family, which MeZO's templates and <c>encode_prompt</c> apply to every prompt;
/// .NET's whitespace differs from Python's by the four separators U+001C..U+001F.
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>str.isspace</c> for one character.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\u001C' && c <= '\u001F');

    /// <summary><c>s.strip()</c></summary>
    public static string Strip(string s) => RStrip(LStrip(s));

    /// <summary><c>s.lstrip()</c></summary>
    public static string LStrip(string s)
    {
        int start = 0;
        while (start < s.Length && IsSpace(s[start]))
        {
            start++;
        }
        return s[start..];
    }

    /// <summary><c>s.rstrip()</c></summary>
    public static string RStrip(string s)
    {
        int end = s.Length;
        while (end > 0 && IsSpace(s[end - 1]))
        {
            end--;
        }
        return s[..end];
    }
}
