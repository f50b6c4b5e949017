namespace Allocation.Api.Operations;

/// <summary>
/// The service's <see cref="ILoggerFactory"/>: the framework's own, whose loggers hand every line to
/// <see cref="LogRedaction"/> before the providers see it. Wrapping the factory rather than each
/// provider keeps the providers' own filter rules (<c>Logging:Console:LogLevel</c>) working, and
/// covers providers added later too.
/// </summary>
internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName), categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}

/// <summary>One category's logger, redacting what it is given (see <see cref="LogRedaction"/>).</summary>
internal sealed class RedactingLogger(ILogger inner, string category) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        var safe = LogRedaction.RedactState(state, message: null);
        return ReferenceEquals(safe, state) || safe is null ? inner.BeginScope(state) : inner.BeginScope(safe);
    }

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        // Nothing is formatted for a line no provider takes.
        if (!inner.IsEnabled(logLevel) || StartupRefusal.ReplacesLine(category, eventId))
        {
            return;
        }

        StartupRefusal.Saw(logLevel);
        ArgumentNullException.ThrowIfNull(formatter);
        var message = formatter(state, exception);
        var safeState = LogRedaction.RedactState(state, message);
        var safeException = LogRedaction.Redact(exception);
        if (ReferenceEquals(safeState, state) && ReferenceEquals(safeException, exception))
        {
            // Formatted once, here: the providers are given the text rather than formatting it again.
            inner.Log(logLevel, eventId, state, exception, (_, _) => message);
            return;
        }

        // Only the exception held a credential: the state's pairs and message are kept as they were.
        var redacted = safeState as LogRedaction.RedactedState ?? new LogRedaction.RedactedState(
            state is IReadOnlyList<KeyValuePair<string, object?>> pairs ? [.. pairs] : [], message);
        inner.Log(logLevel, eventId, redacted, safeException, static (s, _) => s.Message);
    }
}
