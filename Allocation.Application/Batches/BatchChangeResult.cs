using Allocation.Domain;

namespace Allocation.Application.Batches;

/// <summary>A batch after a change, and what happened to the lines it could no longer hold.</summary>
public sealed record BatchChangeResult(
    BatchView Batch, IReadOnlyList<LineReallocated> Reallocated, IReadOnlyList<OrderLine> Unallocated);
