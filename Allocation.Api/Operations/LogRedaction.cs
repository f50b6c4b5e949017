using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Allocation.Api.Operations;

/// <summary>
/// Keeps credentials out of every log line, at every level, whoever writes it. A request can carry a
/// token in its Authorization header, its query string (<c>?access_token=…</c>, or any parameter), its
/// path or a cookie, and several framework components log parts of a request before any of the
/// service's code runs: hosting's "Request starting/finished" lines (the full query string, at
/// Information), Kestrel's bad-request lines (the request line, at Debug), and the exceptions any of
/// them attach. No middleware can reach those, so the redaction sits between every logger and every
/// provider: the <see cref="ILoggerFactory"/> is wrapped, and each message, each state value, each scope
/// and each attached exception passes through <see cref="Redact(string?)"/> before any provider formats it.
/// What is redacted: anything shaped like a JWT (compact JWS or JWE: base64url JSON starting
/// <c>eyJ</c>, in dot-separated segments), the value of query parameters whose names say they are
/// secrets (<c>access_token</c>, <c>token</c>, <c>code</c>, <c>key</c>, <c>password</c>…), and the
/// credentials after <c>Bearer</c> or <c>Basic</c>.
/// </summary>
internal static partial class LogRedaction
{
    public const string Redacted = "[redacted]";

    /// <summary>Wraps the service's logger factory (before it is first resolved).</summary>
    public static IServiceCollection AddLogRedaction(this IServiceCollection services)
    {
        var factory = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("No ILoggerFactory registered: add logging before the log redaction.");
        services.Remove(factory);
        if (factory.ImplementationType is { } type)
        {
            // Built by the container as before (it chooses the constructor that takes the filter options and providers).
            services.AddSingleton(type);
        }

        services.AddSingleton<ILoggerFactory>(provider => new RedactingLoggerFactory(Resolve(provider, factory)));
        return services;
    }

    /// <summary>The text with every credential in it replaced by <see cref="Redacted"/>; the same instance when there was none.</summary>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Redact(string? text)
    {
        if (string.IsNullOrEmpty(text) || !MayHoldSecret(text))
        {
            return text;
        }

        var redacted = JwtShaped().Replace(text, Redacted);
        redacted = SecretParameter().Replace(redacted, Redacted);
        redacted = Credentials().Replace(redacted, Redacted);
        return string.Equals(redacted, text, StringComparison.Ordinal) ? text : redacted;
    }

    /// <summary>The exception, or a stand-in whose text (message and stack trace) is redacted when the original's held a credential.</summary>
    public static Exception? Redact(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        var text = exception.ToString();
        var redacted = Redact(text);
        return ReferenceEquals(text, redacted) ? exception : new RedactedException(redacted, Redact(exception.Message));
    }

    /// <summary>A cheap first look: nearly every line holds none of these, and skips the expressions.</summary>
    private static bool MayHoldSecret(string text) =>
        text.Contains("eyJ", StringComparison.Ordinal) || text.Contains('=') || text.Contains('%')
        || text.Contains("bearer", StringComparison.OrdinalIgnoreCase) || text.Contains("basic", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A JWT's header or payload is base64url JSON, so it starts with <c>eyJ</c> (<c>{"</c>); every segment
    /// after it goes too, whether separated by dots or by percent-encoded dots.
    /// </summary>
    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]+(?:(?:\.|%2[Ee])[A-Za-z0-9_\-]*)*")]
    private static partial Regex JwtShaped();

    /// <summary>The value of a query (or form, or cookie) parameter named as a secret, up to the next separator.</summary>
    [GeneratedRegex(
        @"(?<=(?:^|[?&;\s,""'])(?:access[_-]?token|id[_-]?token|refresh[_-]?token|token|code|api[_-]?key|key|password|passwd|pwd|secret|client[_-]?secret|sig|signature|auth|authorization)(?:=|%3[Dd]))[^&;#\s,""']+",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretParameter();

    /// <summary>
    /// An HTTP authorization header's credentials (RFC 9110 token68), at least 16 characters long: shorter
    /// is no credential worth the name, and prose ("a bearer token") stays readable.
    /// </summary>
    [GeneratedRegex(@"(?<=\b(?:Bearer|Basic)(?:\s|%20|\+)+)[A-Za-z0-9\-._~+/]{16,}=*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Credentials();

    private static ILoggerFactory Resolve(IServiceProvider provider, ServiceDescriptor descriptor) =>
        (ILoggerFactory)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(provider)
            ?? provider.GetRequiredService(descriptor.ImplementationType!));

    /// <summary>A state value after redaction: strings and anything whose text held a credential become redacted text.</summary>
    internal static object? RedactValue(object? value) => value switch
    {
        null or bool or int or long or double or decimal or float or short or byte or uint or ulong or Guid or DateTime or DateTimeOffset
            or TimeSpan or Enum => value,
        string text => Redact(text),
        _ => value.ToString() is { } text && !ReferenceEquals(Redact(text), text) ? Redact(text) : value,
    };

    /// <summary>
    /// A structured state (or scope) with its values redacted, or the state itself when nothing in it
    /// was a credential (the common case: no copy is made).
    /// </summary>
    internal static object? RedactState<TState>(TState state, string? message)
    {
        if (state is IReadOnlyList<KeyValuePair<string, object?>> pairs)
        {
            List<KeyValuePair<string, object?>>? copy = null;
            for (var i = 0; i < pairs.Count; i++)
            {
                var value = pairs[i].Value;
                var safe = RedactValue(value);
                if (!ReferenceEquals(safe, value) && copy is null)
                {
                    copy = [.. pairs.Take(i)];
                }

                copy?.Add(new KeyValuePair<string, object?>(pairs[i].Key, safe));
            }

            // A scope (no message) with clean values is passed on as it is, without formatting it: hosting
            // opens one per request, and its text is only made if a provider prints it.
            if (copy is null && message is null)
            {
                return state;
            }

            var text = message ?? state.ToString();
            var safeText = Redact(text);
            return copy is null && ReferenceEquals(safeText, text) ? state : new RedactedState(copy ?? [.. pairs], safeText ?? string.Empty);
        }

        if (state is null)
        {
            return null;
        }

        var own = message ?? state.ToString();
        var redacted = Redact(own);
        return ReferenceEquals(redacted, own) ? state : new RedactedState([], redacted ?? string.Empty);
    }

    /// <summary>Structured state whose text is fixed: formatters read its pairs, and its text as the message.</summary>
    internal sealed class RedactedState(List<KeyValuePair<string, object?>> pairs, string message) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message => message;

        public int Count => pairs.Count;

        public KeyValuePair<string, object?> this[int index] => pairs[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => pairs.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => message;
    }

    /// <summary>Stands in for an exception whose text held a credential: the formatters print this text instead.</summary>
    private sealed class RedactedException(string text, string message) : Exception(message)
    {
        public override string? StackTrace => null;

        public override string ToString() => text;
    }
}
