using System.Text.Json.Serialization;

namespace Allocation.Api.Contracts;

/// <summary>
/// Serialization code generated at build time for every request and response body, so that a
/// request reads and writes JSON without reflection-built metadata. Only the metadata comes from
/// here: the service's strict options (case, numbers, duplicates) still apply, and types not listed
/// (problem details) fall back to the reflection resolver. <see cref="ChangeBatchRequest"/> is left to
/// the reflection resolver on purpose: generated code sets every init-only property, which would
/// tell its setters that a field left out was given.
/// </summary>
[JsonSerializable(typeof(AllocateRequest))]
[JsonSerializable(typeof(DeallocateRequest))]
[JsonSerializable(typeof(AddBatchRequest))]
[JsonSerializable(typeof(BatchReferenceResponse))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSerializable(typeof(BatchChangeResponse))]
[JsonSerializable(typeof(List<OrderAllocationResponse>))]
[JsonSerializable(typeof(IReadOnlyList<OrderAllocationResponse>))]
[JsonSerializable(typeof(EventFeedResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
