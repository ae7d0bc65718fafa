namespace OrtZo.Tasks;

/// <summary>
/// MeZO's prompt templates and verbalizers (princeton-nlp/MeZO large_models/templates.py, with the
/// candidates and gold of tasks.py), one method per task. Each returns the template's <c>encode</c> text as
/// the prompt and, per candidate, what <c>verbalize</c> appends to it.
/// </summary>
internal static class MezoTemplates
{
    /// <summary>SST2Template: "{sentence} It was" + " terrible" | " great"; gold = label.</summary>
    public static TemplatedExample Sst2(string sentence, int label) =>
        new($"{PythonText.Strip(sentence)} It was", [" terrible", " great"], label);

    /// <summary>RTETemplate: label 0 = entailment ("Yes"), 1 = not_entailment ("No").</summary>
    public static TemplatedExample Rte(string premise, string hypothesis, int label) =>
        new($"{premise}\nDoes this mean that \"{hypothesis}\" is true? Yes or No?\n", ["Yes", "No"], label);

    /// <summary>
    /// BoolQTemplateV3, MeZO's default BoolQ template (template_version=2): the question gets a '?' if it
    /// lacks one and a capital first letter; candidates "Yes", "No", so a true answer is candidate 0.
    /// </summary>
    public static TemplatedExample BoolQ(string passage, string question, bool answer)
    {
        if (!question.EndsWith('?'))
        {
            question += "?";
        }
        question = char.ToUpperInvariant(question[0]) + question[1..];
        return new($"{passage} {question}\n", ["Yes", "No"], answer ? 0 : 1);
    }

    /// <summary>WICTemplate: label false = "No" (0), true = "Yes" (1).</summary>
    public static TemplatedExample Wic(string word, string sentence1, string sentence2, bool sameMeaning) =>
        new($"Does the word \"{word}\" have the same meaning in these two sentences? Yes, No?\n{sentence1}\n{sentence2}\n",
            ["No", "Yes"], sameMeaning ? 1 : 0);

    /// <summary>MultiRCTemplate, one example per answer: label 0 = "No", 1 = "Yes".</summary>
    public static TemplatedExample MultiRc(string paragraph, string question, string answer, int label, string questionGroup) =>
        new($"{paragraph}\nQuestion: {question}\nI found this answer \"{answer}\". Is that correct? Yes or No?\n",
            ["No", "Yes"], label, questionGroup);

    /// <summary>CBTemplate: label 0 = entailment ("Yes"), 1 = contradiction ("No"), 2 = neutral ("Maybe").</summary>
    public static TemplatedExample Cb(string premise, string hypothesis, int label) =>
        new($"Suppose {premise} Can we infer that \"{hypothesis}\"? Yes, No, or Maybe?\n", ["Yes", "No", "Maybe"], label);

    /// <summary>
    /// CopaTemplate (capitalization "correct"): the premise loses trailing whitespace and one final '.', then
    /// " so " (effect) or " because " (cause); each choice follows with its first word lower-cased unless it
    /// is "I". The gold is the first choice equal to choice{label+1}, as MeZO's <c>candidates.index</c> finds it.
    /// </summary>
    public static TemplatedExample Copa(string premise, string choice1, string choice2, bool askEffect, int label)
    {
        premise = PythonText.RStrip(premise);
        if (premise.EndsWith('.'))
        {
            premise = premise[..^1];
        }
        string prompt = premise + (askEffect ? " so " : " because ");
        string correct = label == 0 ? choice1 : choice2;
        int gold = correct == choice1 ? 0 : 1;
        return new(prompt, [LowerFirstWord(choice1), LowerFirstWord(choice2)], gold);
    }

    private static string LowerFirstWord(string choice)
    {
        string[] words = choice.Split(' ');
        if (words[0] != "I")
        {
            words[0] = words[0].ToLowerInvariant();
        }
        return string.Join(' ', words);
    }
}
