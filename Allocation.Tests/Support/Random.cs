namespace Allocation.Tests.Support;

/// <summary>Unique names, so tests never see each other's rows.</summary>
internal static class Unique
{
    private static string Suffix() => Guid.NewGuid().ToString("N")[..10];

    public static string Sku(string name = "") => $"sku-{name}-{Suffix()}";

    public static string BatchRef(string name = "") => $"batch-{name}-{Suffix()}";

    public static string OrderId(string name = "") => $"order-{name}-{Suffix()}";
}
