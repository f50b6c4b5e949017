namespace Allocation.Application.Idempotency;

/// <summary>
/// The current request's Idempotency-Key, when it sent one (scoped: one per request). The API fills
/// it in before the use case runs; <see cref="Common.ProductWrites"/> stores the key with the change and
/// replays the stored answer for a repeat.
/// </summary>
public sealed class IdempotentRequest
{
    /// <summary>The caller's key; null when the request sent none (then nothing is stored or replayed).</summary>
    public string? Key { get; private set; }

    /// <summary>Whose key it is: keys of different callers never meet.</summary>
    public string Caller { get; private set; } = "";

    /// <summary>A hash of what was asked (method, path and body): the same key must come with the same request.</summary>
    public ReadOnlyMemory<byte> Fingerprint { get; private set; }

    /// <summary>The answer was the stored one of an earlier request with this key, not a new decision.</summary>
    public bool Replayed { get; internal set; }

    /// <summary>
    /// The caller runs a write that gave up on contention again by itself (the command consumer does), so
    /// giving up is one of its attempts, not how the request ended.
    /// </summary>
    public bool RepeatsOnContention { get; set; }

    public void Use(string caller, string key, byte[] fingerprint)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(fingerprint);
        (Caller, Key, Fingerprint) = (caller, key, fingerprint);
    }
}

/// <summary>What an earlier request with the same key left, read inside the transaction that holds the key.</summary>
/// <param name="Fingerprint">The earlier request's fingerprint.</param>
/// <param name="Answer">Its answer, as <see cref="Common.ProductWrites"/> stored it.</param>
public sealed record StoredAnswer(ReadOnlyMemory<byte> Fingerprint, string Answer);

/// <summary>The idempotency records of one unit of work: read and written in its transaction.</summary>
public interface IIdempotencyRecords
{
    /// <summary>
    /// Holds the key until the transaction ends (no other request with it gets past this meanwhile) and
    /// reads what an earlier request with it stored, if that has not expired.
    /// </summary>
    /// <exception cref="IdempotencyKeyInUse">Another request with the key is running now.</exception>
    Task<StoredAnswer?> ClaimAsync(string caller, string key, CancellationToken cancellationToken);

    /// <summary>Stores the key, the request's fingerprint and the answer with the commit, never without it.</summary>
    void Record(string caller, string key, ReadOnlyMemory<byte> fingerprint, string answer);
}

/// <summary>A request with this key is still running: 409, try again later.</summary>
public sealed class IdempotencyKeyInUse(string key)
    : Exception($"A request with Idempotency-Key '{key}' is still being processed; repeat it once that one has answered.");

/// <summary>The key was used before with a different request: 422.</summary>
public sealed class IdempotencyKeyReused(string key)
    : Exception($"Idempotency-Key '{key}' was already used with a different request (another method, path or body).");
