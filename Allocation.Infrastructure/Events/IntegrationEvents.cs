using System.Buffers;
using System.Text;
using System.Text.Json;
using Allocation.Domain;

namespace Allocation.Infrastructure.Events;

/// <summary>
/// What other services are told: each domain event's CloudEvents <c>type</c> and <c>data</c>. The
/// names and shapes are a published contract (README "Events"): add fields, never rename them.
/// </summary>
internal static class IntegrationEvents
{
    public const string BatchCreated = "allocation.batch.created";
    public const string BatchChanged = "allocation.batch.changed";
    public const string LineAllocated = "allocation.line.allocated";
    public const string LineDeallocated = "allocation.line.deallocated";
    public const string LineReallocated = "allocation.line.reallocated";
    public const string OutOfStock = "allocation.out_of_stock";
    public const string OrderAllocated = "allocation.order.allocated";
    public const string OrderRejected = "allocation.order.rejected";

    /// <returns>The event's type and its data as a JSON object.</returns>
    public static (string Type, string Data) Describe(ProductEvent productEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            var type = Write(json, productEvent);
            json.WriteEndObject();
            json.Flush();
            return (type, Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
    }

    private static string Write(Utf8JsonWriter json, ProductEvent productEvent)
    {
        switch (productEvent)
        {
            case Domain.BatchCreated created:
                json.WriteString("ref", created.Reference);
                json.WriteString("sku", created.Sku);
                json.WriteNumber("qty", created.Quantity);
                WriteDate(json, "eta", created.Eta);
                return BatchCreated;
            case Domain.BatchChanged changed:
                json.WriteString("ref", changed.Reference);
                json.WriteString("sku", changed.Sku);
                json.WriteStartObject("qty");
                json.WriteNumber("before", changed.QuantityBefore);
                json.WriteNumber("after", changed.QuantityAfter);
                json.WriteEndObject();
                json.WriteStartObject("eta");
                WriteDate(json, "before", changed.EtaBefore);
                WriteDate(json, "after", changed.EtaAfter);
                json.WriteEndObject();
                return BatchChanged;
            case Domain.LineAllocated allocated:
                WriteLine(json, allocated.Line);
                json.WriteString("batchref", allocated.BatchReference);
                return LineAllocated;
            case Domain.LineDeallocated deallocated:
                WriteLine(json, deallocated.Line);
                json.WriteString("batchref", deallocated.BatchReference);
                json.WriteString("reason", deallocated.Reason switch
                {
                    DeallocationReason.Requested => "requested",
                    DeallocationReason.BatchReduced => "batch_reduced",
                    _ => throw new ArgumentOutOfRangeException(nameof(productEvent), deallocated.Reason, "Unknown reason."),
                });
                return LineDeallocated;
            case Domain.LineReallocated reallocated:
                WriteLine(json, reallocated.Line);
                json.WriteString("from", reallocated.FromBatchReference);
                json.WriteString("to", reallocated.ToBatchReference);
                return LineReallocated;
            case StockRanOut ranOut:
                WriteLine(json, ranOut.Line);
                return OutOfStock;
            case Domain.OrderAllocated order:
                json.WriteString("orderid", order.OrderId);
                json.WriteStartArray("lines");
                foreach (var allocated in order.Lines)
                {
                    json.WriteStartObject();
                    json.WriteString("sku", allocated.Line.Sku);
                    json.WriteNumber("qty", allocated.Line.Quantity);
                    json.WriteString("batchref", allocated.BatchReference);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                return OrderAllocated;
            case Domain.OrderRejected order:
                json.WriteString("orderid", order.OrderId);
                json.WriteStartArray("lines");
                foreach (var line in order.Lines)
                {
                    json.WriteStartObject();
                    json.WriteString("sku", line.Sku);
                    json.WriteNumber("qty", line.Quantity);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("out_of_stock");
                foreach (var sku in order.OutOfStockSkus)
                {
                    json.WriteStringValue(sku);
                }

                json.WriteEndArray();
                return OrderRejected;
            default:
                throw new ArgumentException($"No integration event for {productEvent.GetType().Name}.", nameof(productEvent));
        }
    }

    private static void WriteLine(Utf8JsonWriter json, OrderLine line)
    {
        json.WriteString("orderid", line.OrderId);
        json.WriteString("sku", line.Sku);
        json.WriteNumber("qty", line.Quantity);
    }

    private static void WriteDate(Utf8JsonWriter json, string name, DateOnly? date)
    {
        if (date is { } value)
        {
            json.WriteString(name, value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
