using System.Text;
using System.Text.RegularExpressions;
using Serverless.IntegrationTests.FirstHour;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Readme;

/// <summary>
/// README.md's examples work when copied in order from a fresh start, so the README cannot drift from the server.
///
/// The rules, for everyone who adds an example to README.md:
/// <list type="number">
/// <item>Only fenced blocks opened with <c>```bash</c>, <c>```sh</c> or <c>```shell</c> are read, top to bottom, each
/// command in README order. Python, JavaScript and JSON blocks and inline <c>`code`</c> are not run.</item>
/// <item>A command is a logical shell line: backslash continuations and newlines inside quotes or <c>$( … )</c> are
/// part of it; <c>#</c> comments are ignored.</item>
/// <item>Run: every command whose program is <c>aws</c> (also after <c>NAME=value</c> prefixes, and
/// <c>NAME=$(aws …)</c>), plus the shell glue examples depend on: <c>export</c>, <c>unset</c>, plain <c>NAME=value</c>
/// assignments and <c>sleep N</c>. Everything else (<c>dotnet run</c>, <c>curl</c>, <c>tail</c>, <c>./test.sh</c>, …)
/// is listed as not run.</item>
/// <item>All of it runs in one bash (<c>set -e -o pipefail</c>), in a fresh shell (no AWS_* variables, an empty
/// HOME), with the image's AWS CLI v1 on PATH, in the working directory of a fresh host (so <c>data/</c> is its
/// store). Every <c>http://127.0.0.1:8000</c> becomes the host's URL, and the shell starts with
/// <c>AWS_ENDPOINT_URL</c> set to it (a command without <c>--endpoint-url</c> reaches the host, never AWS) and with
/// <c>AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1</c>, which the README's own
/// <c>export</c>s override. The host accepts any credentials and has the trigger mapping of the Triggers example
/// (<c>Triggers__0__Table=Music</c>, <c>Triggers__0__Queue=audit-log</c>).</item>
/// <item>The first command that exits non-zero fails the test, named with its README line.</item>
/// <item>A block that cannot run here (another region, Azure, Core Tools, a host started with keys) is opted out,
/// visibly, by the line <c>&lt;!-- readme-test: skip (why) --&gt;</c> right before its opening fence. Use it
/// sparingly: a skipped block is not checked at all.</item>
/// </list>
/// </summary>
public sealed partial class ReadmeExamplesTests
{
    private const string ReadmeEndpoint = "http://127.0.0.1:8000";
    private const string SkipMarker = "<!-- readme-test: skip";

    [Fact]
    public async Task EveryAwsCommandOfTheReadme_RunsInOrder_AgainstAFreshHost()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryLayout.Root, "README.md"));
        var commands = Extract(readme);
        var run = commands.Where(c => c.Kind != CommandKind.NotRun).ToList();
        Assert.True(run.Count(c => c.Kind == CommandKind.Aws) >= 10, $"only {run.Count(c => c.Kind == CommandKind.Aws)} aws commands found in README.md: is the parser broken?\n{Describe(commands)}");

        var cli = await FreshShell.RunAsync("aws --version", Path.GetTempPath());
        Assert.True(cli.ExitCode == 0, $"the README test needs the AWS CLI (`aws`) on PATH, as the image has it:\n{cli.StandardOutput}{cli.StandardError}");

        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Triggers__0__Table"] = "Music", ["Triggers__0__Queue"] = "audit-log" },
        });
        var script = new StringBuilder("set -e -o pipefail\n");
        for (var i = 0; i < run.Count; i++)
        {
            script.Append(System.Globalization.CultureInfo.InvariantCulture, $"echo '>>> {i}' >&2\n");
            script.Append(run[i].Text.Replace(ReadmeEndpoint, host.ServiceUrl, StringComparison.Ordinal)).Append('\n');
        }

        script.Append("echo '>>> done' >&2\n");
        var result = await FreshShell.RunAsync(script.ToString(), Path.GetDirectoryName(host.DataDirectory)!, new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL"] = host.ServiceUrl,
            ["AWS_ACCESS_KEY_ID"] = "local",
            ["AWS_SECRET_ACCESS_KEY"] = "local",
            ["AWS_DEFAULT_REGION"] = "us-east-1",
            ["AWS_PAGER"] = "",
        }, TimeSpan.FromMinutes(6));

        if (result.ExitCode != 0)
        {
            var last = Marker().Matches(result.StandardError).LastOrDefault()?.Groups[1].Value;
            var failed = int.TryParse(last, out var index) && index < run.Count ? run[index] : null;
            Assert.Fail(failed is null
                ? $"the README script failed (exit {result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}"
                : $"README.md line {failed.Line} failed (exit {result.ExitCode}):\n{failed.Text}\n--- output ---\n{result.StandardOutput}\n{result.StandardError}\n--- host ---\n{host.Output}");
        }

        Assert.Contains(">>> done", result.StandardError, StringComparison.Ordinal);

        // What the examples say they show: the stream read prints the record just written, the restore restores.
        Assert.Contains("\"eventName\": \"INSERT\"", result.StandardOutput, StringComparison.Ordinal);
        if (readme.Contains("data/audit/audit.log", StringComparison.Ordinal))
        {
            var audit = Path.Combine(host.DataDirectory, "audit", "audit.log");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!(File.Exists(audit) && (await File.ReadAllTextAsync(audit)).Contains("Nils Frahm", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
                await Task.Delay(250);
            Assert.True(File.Exists(audit), $"the Triggers example tails data/audit/audit.log, which the host never wrote\n{host.Output}");
            Assert.Contains("Nils Frahm", await File.ReadAllTextAsync(audit), StringComparison.Ordinal);
        }
    }

    /// <summary>The parser itself: continuations, quotes spanning lines, assignments, skipped blocks.</summary>
    [Fact]
    public void Extract_FollowsTheRules()
    {
        var markdown = string.Join('\n',
            "text", "```bash", "export A=1 B=2", "dotnet run --project src/Host   # not run",
            "aws dynamodb list-tables \\", "  --endpoint-url http://127.0.0.1:8000",
            "ARN=$(aws dynamodb describe-table --table-name T \\", "  --query X --output text)",
            "P='{\"a\": \"# not a comment\",", "  \"b\": 1}'", "AWS_DEFAULT_REGION=eu-west-1 aws dynamodb list-tables",
            "FOO=1 tail -f data/x", "sleep 2", "# a comment with Music's apostrophe", "curl http://127.0.0.1:8000/admin/metrics", "```",
            "<!-- readme-test: skip (why) -->", "```bash", "aws dynamodb delete-table --table-name Skipped", "```",
            "```python", "aws = 1", "```");

        var commands = Extract(markdown);

        Assert.Equal(
            [
                (CommandKind.Glue, "export A=1 B=2"),
                (CommandKind.NotRun, "dotnet run --project src/Host"),
                (CommandKind.Aws, "aws dynamodb list-tables \\\n  --endpoint-url http://127.0.0.1:8000"),
                (CommandKind.Aws, "ARN=$(aws dynamodb describe-table --table-name T \\\n  --query X --output text)"),
                (CommandKind.Glue, "P='{\"a\": \"# not a comment\",\n  \"b\": 1}'"),
                (CommandKind.Aws, "AWS_DEFAULT_REGION=eu-west-1 aws dynamodb list-tables"),
                (CommandKind.NotRun, "FOO=1 tail -f data/x"),
                (CommandKind.Glue, "sleep 2"),
                (CommandKind.NotRun, "curl http://127.0.0.1:8000/admin/metrics"),
            ],
            commands.Select(c => (c.Kind, c.Text)));
        Assert.Equal(5, commands[2].Line);
    }

    internal enum CommandKind
    {
        Aws,
        Glue,
        NotRun,
    }

    internal sealed record Command(int Line, string Text, CommandKind Kind);

    /// <summary>Every command of the README's shell blocks, in order, with what the test does with it.</summary>
    internal static List<Command> Extract(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var commands = new List<Command>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].Trim();
            if (!fence.StartsWith("```", StringComparison.Ordinal) || fence.Length == 3) continue;
            var language = fence[3..].Trim();
            var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
            if (end < 0) end = lines.Length;
            var previous = lines.Take(i).LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
            if (language is "bash" or "sh" or "shell" && !previous.StartsWith(SkipMarker, StringComparison.Ordinal))
                commands.AddRange(Split(lines, i + 1, end));
            i = end;
        }

        return commands;
    }

    /// <summary>Splits lines [from, to) into logical commands (quote-, <c>$( )</c>- and continuation-aware).</summary>
    private static IEnumerable<Command> Split(string[] lines, int from, int to)
    {
        var text = string.Join('\n', lines[from..to]) + "\n";
        var current = new StringBuilder();
        var startLine = from + 1;
        var line = from + 1;
        char quote = '\0';
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote == '\'')
            {
                if (c == '\'') quote = '\0';
            }
            else if (c == '\\' && i + 1 < text.Length)
            {
                current.Append(c);
                c = text[++i];
            }
            else if (quote == '"')
            {
                if (c == '"') quote = '\0';
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '$' && i + 1 < text.Length && text[i + 1] == '(')
            {
                depth++;
            }
            else if (c == ')' && depth > 0)
            {
                depth--;
            }
            else if (c == '#' && (current.Length == 0 || char.IsWhiteSpace(current[^1])))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            else if (c == '\n' && depth == 0)
            {
                var command = current.ToString().Trim();
                if (command.Length > 0) yield return new Command(startLine, command, Classify(command));
                current.Clear();
                line++;
                startLine = line;
                continue;
            }

            if (c == '\n')
            {
                line++;
                if (current.ToString().Trim().Length == 0) startLine = line;
            }

            current.Append(c);
        }
    }

    private static CommandKind Classify(string command)
    {
        if (Regex.IsMatch(command, @"^(export|unset)\s") || Regex.IsMatch(command, @"^sleep\s+\d+(\.\d+)?$")) return CommandKind.Glue;

        // Leading NAME=value words (an assignment, or a command's environment): what follows decides.
        var rest = command;
        var assigned = false;
        while (Assignment().Match(rest) is { Success: true } m)
        {
            assigned = true;
            var valueEnd = WordEnd(rest, m.Length);
            if (rest[m.Length..valueEnd].Contains("$(aws ", StringComparison.Ordinal)) return CommandKind.Aws;
            rest = rest[valueEnd..].TrimStart();
        }

        if (rest.StartsWith("aws ", StringComparison.Ordinal)) return CommandKind.Aws;
        return assigned && rest.Length == 0 ? CommandKind.Glue : CommandKind.NotRun;
    }

    /// <summary>The end of the shell word starting at <paramref name="start"/>: unquoted whitespace outside <c>$( )</c>.</summary>
    private static int WordEnd(string s, int start)
    {
        char quote = '\0';
        var depth = 0;
        for (var i = start; i < s.Length; i++)
        {
            var c = s[i];
            if (quote == '\'') { if (c == '\'') quote = '\0'; }
            else if (c == '\\') i++;
            else if (quote == '"') { if (c == '"') quote = '\0'; }
            else if (c is '\'' or '"') quote = c;
            else if (c == '$' && i + 1 < s.Length && s[i + 1] == '(') depth++;
            else if (c == ')' && depth > 0) depth--;
            else if (char.IsWhiteSpace(c) && depth == 0) return i;
        }

        return s.Length;
    }

    private static string Describe(IEnumerable<Command> commands) =>
        string.Join('\n', commands.Select(c => $"line {c.Line} [{c.Kind}]: {c.Text}"));

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*=")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"^>>> (\d+)$", RegexOptions.Multiline)]
    private static partial Regex Marker();
}
