using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Allocation.Application;
using Allocation.Infrastructure.Telemetry;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// A command as it arrived: a CloudEvents 1.0 structured JSON envelope (the same shape as the events
/// this service publishes) whose <c>type</c> says what to do and whose <c>data</c> says with what.
/// </summary>
/// <param name="Id">The sender's unique id of the command: the inbox key, so the same id has one effect.</param>
/// <param name="Type">One of <see cref="CommandTypes"/>.</param>
/// <param name="Time">When the sender issued it (CloudEvents <c>time</c>, required here): how old it is decides whether the inbox still remembers it.</param>
/// <param name="Data">The command's arguments.</param>
/// <param name="Fingerprint">SHA-256 of the type and the data (compact JSON): the same id must always come with the same command.</param>
internal sealed record CommandEnvelope(string Id, string Type, DateTimeOffset Time, JsonElement Data, byte[] Fingerprint)
{
    /// <summary>
    /// The sender's W3C trace context from the envelope's CloudEvents distributed-tracing extension
    /// (<c>traceparent</c>, <c>tracestate</c>); null when absent or malformed, which never makes a command malformed.
    /// Not part of the fingerprint: a resend in another trace is the same command.
    /// </summary>
    public TraceContext? Trace { get; init; }

    /// <summary>
    /// Longest command id: rejections are published with subject <c>commands/{id}</c>, which must fit the
    /// outbox's 255 characters.
    /// </summary>
    public const int MaxIdLength = 200;

    /// <exception cref="MalformedCommand">Not a CloudEvents envelope of a known command type, or without a usable id.</exception>
    public static CommandEnvelope Parse(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException error)
        {
            throw new MalformedCommand($"not JSON ({error.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedCommand("not a JSON object");
            }

            if (Text(root, "specversion") != Application.Events.CloudEvent.Version)
            {
                throw new MalformedCommand($"specversion must be \"{Application.Events.CloudEvent.Version}\"");
            }

            var id = Text(root, "id");
            if (id is null || !Identifiers.IsValid(id) || Identifiers.Length(id) > MaxIdLength)
            {
                throw new MalformedCommand($"id must be printable text of 1 to {MaxIdLength} characters without '/'");
            }

            if (string.IsNullOrEmpty(Text(root, "source")))
            {
                throw new MalformedCommand("source is required");
            }

            var type = Text(root, "type");
            if (type is null || !CommandTypes.All.Contains(type))
            {
                throw new MalformedCommand($"type must be one of {string.Join(", ", CommandTypes.All)}");
            }

            if (Text(root, "time") is not { } text
                || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                throw new MalformedCommand("time (RFC 3339) is required: it says whether the inbox still remembers the command");
            }

            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedCommand("data must be a JSON object");
            }

            return new CommandEnvelope(id, type, time, data.Clone(), FingerprintOf(type, data))
            {
                Trace = TraceContext.Parse(Text(root, TraceContext.TraceParentName), Text(root, TraceContext.TraceStateName)),
            };
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// Of what the command asks, not of its bytes: a sender that sends the command again in a new envelope
    /// (another time, other spacing) sends the same command.
    /// </summary>
    private static byte[] FingerprintOf(string type, JsonElement data)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(Encoding.UTF8.GetBytes(type + "\n"));
        using (var json = new Utf8JsonWriter(buffer))
        {
            data.WriteTo(json);
        }

        return SHA256.HashData(buffer.WrittenSpan);
    }
}

/// <summary>The command cannot be read as one: it is dead-lettered at once, since no attempt could succeed.</summary>
internal sealed class MalformedCommand(string reason) : Exception($"Malformed command: {reason}.");

/// <summary>The command's id came before with a different command: it is dead-lettered, the first one's effect stands.</summary>
internal sealed class CommandIdReused(string id) : Exception($"Command id '{id}' was already used by a different command.");

/// <summary>
/// The command is older than the inbox remembers (or dated in the future beyond the allowed clock skew): it
/// may have been handled already, so it is dead-lettered for an operator rather than risk a second effect.
/// </summary>
internal sealed class CommandExpired(string id, string reason) : Exception($"Command {id} {reason}.");

/// <summary>A well-formed command whose data the use case cannot take: answered with a rejection event.</summary>
internal sealed class InvalidCommandData(string reason) : Exception(reason);

/// <summary>The command types this service takes (the routing keys senders publish with).</summary>
internal static class CommandTypes
{
    public const string ChangeBatch = "allocation.batch.change";
    public const string AllocateOrder = "allocation.order.allocate";
    public const string DeallocateOrder = "allocation.order.deallocate";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { AllocateOrder, DeallocateOrder, ChangeBatch };
}
