namespace Allocation.Domain;

/// <summary>Something a product did since it was loaded, for persistence to replay.</summary>
public abstract record ProductChange;

public sealed record BatchAdded(Batch Batch) : ProductChange;

public sealed record LineAllocated(OrderLine Line, string BatchReference) : ProductChange;

public sealed record LineDeallocated(OrderLine Line, string BatchReference) : ProductChange;
