using System.Globalization;
using System.Text.RegularExpressions;

namespace Allocation.Tests.EndToEnd.Observability;

/// <summary>Reads samples out of a Prometheus text exposition, as a scraper would.</summary>
internal static partial class PrometheusText
{
    /// <summary>
    /// The value of the one sample of <paramref name="metric"/> whose labels include all of
    /// <paramref name="labels"/> (other labels, such as otel_scope_name, are allowed); null when none.
    /// </summary>
    public static double? Value(string exposition, string metric, params (string Name, string Value)[] labels)
    {
        var matches = Samples(exposition, metric)
            .Where(sample => labels.All(label => sample.Labels.TryGetValue(label.Name, out var value) && value == label.Value))
            .ToList();
        return matches.Count switch
        {
            0 => null,
            1 => matches[0].Value,
            _ => throw new InvalidOperationException($"{matches.Count} samples of {metric} match; name more labels."),
        };
    }

    public static IEnumerable<(IReadOnlyDictionary<string, string> Labels, double Value)> Samples(string exposition, string metric)
    {
        foreach (var line in exposition.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (!match.Success || match.Groups["name"].Value != metric)
            {
                continue;
            }

            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(pair => pair.Groups["name"].Value, pair => pair.Groups["value"].Value);
            yield return (labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)""")]
    private static partial Regex LabelPair();
}
