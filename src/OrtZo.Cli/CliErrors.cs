using System.CommandLine;

namespace OrtZo.Cli;

/// <summary>
/// The CLI's exit contract. Input a user can fix — an <see cref="OrtZoException"/>, or a command line the parser
/// rejects — prints one <c>error:</c> line and one <c>hint:</c> line and exits 2. Anything else is a bug in OrtZo:
/// it is reported as an internal error with its stack trace and exits 1, never dressed up as a usage error.
/// </summary>
internal static class CliErrors
{
    public const int UsageError = 2, InternalError = 1;

    public static int Run(RootCommand root, string[] args, Func<ParseResult, int> invoke)
    {
        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception e)
        {
            return Internal(e);
        }
        // --help suppresses the parser's errors but not its unmatched tokens: `ortzo sweep --help` must not
        // print the root help and succeed as if "sweep" were a command.
        var errors = parse.Errors.Select(e => e.Message).ToList();
        if (errors.Count == 0)
            errors.AddRange(parse.UnmatchedTokens.Select(t => $"Unrecognized command or argument '{t}'."));
        if (errors.Count > 0)
        {
            foreach (var error in errors) Console.Error.WriteLine($"error: {error}");
            Console.Error.WriteLine($"hint: see `{CommandPath(parse)} --help`");
            return UsageError;
        }
        try
        {
            return invoke(parse);
        }
        catch (Exception e) when (UserError(e) is { } user)
        {
            Console.Error.WriteLine($"error: {user.Message}");
            Console.Error.WriteLine($"hint: {user.Hint.Replace("ortzo <command>", CommandPath(parse), StringComparison.Ordinal)}");
            return UsageError;
        }
        catch (Exception e)
        {
            return Internal(e);
        }
    }

    /// <summary>The OrtZoException behind <paramref name="e"/>, also when a thread pool or host wrapped it.</summary>
    internal static OrtZoException? UserError(Exception e) => e switch
    {
        OrtZoException o => o,
        AggregateException { InnerExceptions.Count: 1 } a => UserError(a.InnerExceptions[0]),
        System.Reflection.TargetInvocationException { InnerException: { } inner } => UserError(inner),
        TypeInitializationException { InnerException: { } inner } => UserError(inner),
        _ => null,
    };

    private static int Internal(Exception e)
    {
        Console.Error.WriteLine("internal error: OrtZo hit an unexpected condition; this is a bug, not a problem with your input. Please report it with this trace:");
        Console.Error.WriteLine(e);
        return InternalError;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(r.Command is RootCommand ? "ortzo" : r.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
