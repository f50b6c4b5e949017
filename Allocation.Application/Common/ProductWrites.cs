using System.Text.Json;
using Allocation.Application.Idempotency;

namespace Allocation.Application.Common;

/// <summary>
/// The one way a use case writes a product: its SKU's turn and retries (<see cref="ConflictRetry"/>),
/// a fresh unit of work per attempt, the Idempotency-Key when the request has one, and the commit. A
/// use case only loads and decides; the answer it returns is stored with the change when the request
/// has a key, so that a key exists exactly when its change committed, and a repeat gets that answer.
/// </summary>
public sealed class ProductWrites(IUnitOfWorkFactory unitsOfWork, ConflictRetry retry, IdempotentRequest request)
{
    private static readonly JsonSerializerOptions AnswerJson = new(JsonSerializerDefaults.General);

    /// <param name="sku">The SKU written.</param>
    /// <param name="decide">Loads through the unit of work and changes the product; returns the answer. Does not commit.</param>
    /// <param name="cancellationToken">The request's deadline.</param>
    /// <param name="safeToRepeat">The use case finds its own earlier write and answers the same (see <see cref="ConflictRetry"/>).</param>
    /// <exception cref="IdempotencyKeyInUse">Another request with the key is running.</exception>
    /// <exception cref="IdempotencyKeyReused">The key came before with another request.</exception>
    public Task<T> WriteAsync<T>(
        string sku, Func<IUnitOfWork, CancellationToken, Task<T>> decide, CancellationToken cancellationToken, bool safeToRepeat = false) =>
        WriteAsync([sku], decide, cancellationToken, safeToRepeat);

    /// <summary>
    /// A write of several products in one unit of work and one commit (a whole order): the turns of all
    /// their SKUs, taken in SKU order, and a conflict on any of them runs the whole write again.
    /// </summary>
    /// <param name="skus">
    /// Every SKU the write may change. <paramref name="decide"/> loads their products in SKU order
    /// (ordinal), so that two writes sharing products lock them in the same order in the database too.
    /// </param>
    /// <param name="decide">Loads through the unit of work and changes the products; returns the answer. Does not commit.</param>
    /// <param name="cancellationToken">The request's deadline.</param>
    /// <param name="safeToRepeat">The use case finds its own earlier write and answers the same (see <see cref="ConflictRetry"/>).</param>
    /// <exception cref="IdempotencyKeyInUse">Another request with the key is running.</exception>
    /// <exception cref="IdempotencyKeyReused">The key came before with another request.</exception>
    public Task<T> WriteAsync<T>(
        IReadOnlyCollection<string> skus,
        Func<IUnitOfWork, CancellationToken, Task<T>> decide,
        CancellationToken cancellationToken,
        bool safeToRepeat = false)
    {
        ArgumentNullException.ThrowIfNull(decide);
        var earlierCommitCutOff = false;
        return retry.ExecuteAsync(
            skus,
            async ct =>
            {
                await using var uow = await unitsOfWork.BeginAsync(ct);
                if (earlierCommitCutOff)
                {
                    uow.ConfirmEarlierWrites();
                }

                if (request.Key is { } key && await uow.Idempotency.ClaimAsync(request.Caller, key, ct) is { } stored)
                {
                    var replay = Replay<T>(stored, key);
                    // Nothing else to write: the earlier request's change and answer are stored. The commit
                    // still waits for the standby when that change's own COMMIT was cut off.
                    await uow.CommitAsync(ct);
                    return replay;
                }

                var answer = await decide(uow, ct);
                if (request.Key is { } recordedKey)
                {
                    uow.Idempotency.Record(request.Caller, recordedKey, request.Fingerprint, JsonSerializer.Serialize(answer, AnswerJson));
                }

                try
                {
                    await uow.CommitAsync(ct);
                }
                catch (StoreUnavailable cutOff) when (cutOff.Fault == StoreFault.OutcomeUnknown)
                {
                    earlierCommitCutOff = true;
                    throw;
                }

                return answer;
            },
            cancellationToken,
            // With a key, a repeat after a lost commit finds the stored key and replays the answer.
            safeToRepeat || request.Key is not null);
    }

    private T Replay<T>(StoredAnswer stored, string key)
    {
        if (!stored.Fingerprint.Span.SequenceEqual(request.Fingerprint.Span))
        {
            throw new IdempotencyKeyReused(key);
        }

        request.Replayed = true;
        return JsonSerializer.Deserialize<T>(stored.Answer, AnswerJson)
            ?? throw new InvalidOperationException($"The answer stored for Idempotency-Key '{key}' is empty.");
    }
}
