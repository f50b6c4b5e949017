using System.Diagnostics;
using System.Globalization;

namespace Allocation.Tests.Support;

/// <summary>The programs the suite runs, and the process tree (from /proc) in which it finds the servers it started through runuser.</summary>
internal static class ProcessTree
{
    /// <summary>The processes whose parent is <paramref name="parent"/>, from /proc/*/stat.</summary>
    public static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // exited meanwhile
            }

            // "pid (command) state ppid ...": the command may hold spaces and parentheses; the fields after the last ')' do not.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    /// <summary>Runs a program to its end; a non-zero exit is an exception with what it printed.</summary>
    public static async Task RunAsync(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // pg_ctl's server inherits the pipes otherwise, and reading them to the end would never finish.
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}
