using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Allocation.Domain;
using Allocation.Infrastructure.Persistence;
using Allocation.Infrastructure.Telemetry;

namespace Allocation.Tests.Unit.Infrastructure;

/// <summary>
/// The exact statements each use case's commit sends, compared byte for byte with the checked-in
/// renderings in <c>Renderings/</c>: a change to the SQL or its parameters shows in a diff a reviewer
/// reads. When a change is meant, regenerate them and review the diff:
/// <c>ALLOCATION_WRITE_RENDERINGS=1 dotnet test -c Release --filter FullyQualifiedName~ProductChangesRenderingTests</c>
/// (the run writes every rendering from the source tree's path and then compares as usual).
/// </summary>
public class ProductChangesRenderingTests
{
    private const string Sku = "LAMP";
    private static readonly DateOnly Soon = new(2026, 12, 1);
    private static readonly DateOnly Later = new(2026, 12, 20);

    private static OrderLine Line(string orderId, int quantity) => new(orderId, Sku, quantity);

    private static Batch Stored(string reference, int quantity, DateOnly? eta, params OrderLine[] lines) =>
        Batch.Restore(reference, Sku, quantity, eta, lines.Sum(l => l.Quantity), lines);

    private static Batch StoredTotal(string reference, int quantity, DateOnly? eta, int allocated) =>
        Batch.Restore(reference, Sku, quantity, eta, allocated, []);

    [Test]
    public void Allocate() => Check(
        "allocate",
        "order o9 takes 2 of LAMP: one line, its allocation and its batch's total, with COMMIT in one round trip",
        Loaded(ProductScope.ForOrder("o9"), StoredTotal("warehouse", 10, null, 4), StoredTotal("shipment", 10, Soon, 0)),
        product => product.Allocate(Line("o9", 2)));

    [Test]
    public void Allocate_traced() => Check(
        "allocate-traced",
        "the same allocation made by a traced request: its event keeps the request's W3C trace context",
        Loaded(ProductScope.ForOrder("o9"), StoredTotal("warehouse", 10, null, 4), StoredTotal("shipment", 10, Soon, 0)),
        product => product.Allocate(Line("o9", 2)),
        writer: new TraceContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=00f067aa0ba902b7"));

    [Test]
    public void Whole_order_of_one_sku() => Check(
        "whole-order-of-one-sku",
        "order o9 of one line, 2 of LAMP, through the whole-order rule: the same statement as an allocation, with the order's event too",
        Loaded(ProductScope.ForOrder("o9"), StoredTotal("warehouse", 10, null, 4), StoredTotal("shipment", 10, Soon, 0)),
        product => WholeOrder.Allocate([Line("o9", 2)], [product]));

    [Test]
    public void Out_of_stock() => Check(
        "out-of-stock",
        "order o9 wants 20 of LAMP and no batch has room: the version move and the event, no state",
        Loaded(ProductScope.ForOrder("o9"), StoredTotal("warehouse", 10, null, 4)),
        product => Assert.Throws<OutOfStock>(() => product.Allocate(Line("o9", 20))));

    [Test]
    public void Deallocate() => Check(
        "deallocate",
        "order o1 gives back its line of LAMP",
        Loaded(ProductScope.ForOrder("o1"), Stored("warehouse", 10, null, Line("o1", 3))),
        product => product.Deallocate("o1"));

    [Test]
    public void Add_batch() => Check(
        "add-batch",
        "a second batch of a stored product",
        Loaded(ProductScope.TotalsOnly, StoredTotal("warehouse", 10, null, 4)),
        product => product.AddBatch(new Batch("shipment", Sku, 50, Later)));

    [Test]
    public void New_product() => Check(
        "new-product",
        "the first batch of a SKU: the product row, then its changes",
        new Product(Sku, []),
        product => product.AddBatch(new Batch("warehouse", Sku, 10, null)),
        isNew: true);

    [Test]
    public void Change_eta_only() => Check(
        "change-eta-only",
        "a shipment arrives later; loaded with totals only, no line moves",
        Loaded(ProductScope.TotalsOnly, StoredTotal("shipment", 10, Soon, 6)),
        product => product.ChangeBatch("shipment", quantity: null, EtaChange.To(Later)));

    [Test]
    public void Reduce_that_fits() => Check(
        "reduce-that-fits",
        "a batch reduced to a quantity that still holds its lines; loaded with totals only",
        Loaded(ProductScope.TotalsOnly, StoredTotal("warehouse", 10, null, 6)),
        product => product.ChangeBatch("warehouse", 7, EtaChange.Keep));

    [Test]
    public void Reduce_that_moves_lines() => Check(
        "reduce-that-moves-lines",
        "warehouse reduced from 10 to 4: its three newest lines come off; o2 and o3 move to the shipment, o4 fits back",
        Loaded(
            ProductScope.ForBatch("warehouse"),
            Stored("warehouse", 10, null, Line("o1", 3), Line("o2", 2), Line("o3", 2), Line("o4", 1)),
            Stored("shipment", 20, Soon, Line("o5", 5))),
        product => product.ChangeBatch("warehouse", 4, EtaChange.Keep));

    [Test]
    public void Reduce_that_unallocates() => Check(
        "reduce-that-unallocates",
        "warehouse reduced from 10 to 3: o2 moves to the full-but-one shipment, o3 fits nowhere and is given up",
        Loaded(
            ProductScope.ForBatch("warehouse"),
            Stored("warehouse", 10, null, Line("o1", 3), Line("o2", 1), Line("o3", 4)),
            Stored("shipment", 6, Soon, Line("o5", 5))),
        product => product.ChangeBatch("warehouse", 3, EtaChange.Keep));

    private static Product Loaded(ProductScope scope, params Batch[] batches) => new(Sku, batches, versionNumber: 7, scope);

    private static void Check(
        string name, string story, Product product, Action<Product> useCase, bool isNew = false, TraceContext? writer = null, [CallerFilePath] string here = "")
    {
        useCase(product);
        var statements = ProductChanges.Render(product, isNew, EventIds(), writer);
        var rendering = Render(name, story, statements);
        var path = Path.Combine(Path.GetDirectoryName(here)!, "Renderings", name + ".sql");
        if (Environment.GetEnvironmentVariable("ALLOCATION_WRITE_RENDERINGS") == "1")
        {
            File.WriteAllText(path, rendering);
        }

        File.Exists(path).Should().BeTrue($"the rendering of {name} is checked in at {path} (regenerate: see this class's summary)");
        rendering.Should().Be(File.ReadAllText(path), $"the statements for {name} are the reviewed ones in {path}");
    }

    /// <summary>Event ids that are the same on every run: 00000000-0000-0000-0000-000000000001, …</summary>
    private static Func<Guid> EventIds()
    {
        var next = 0;
        return () => new Guid(++next, 0, 0, new byte[8]);
    }

    private static string Render(string name, string story, IReadOnlyList<SqlStatement> statements)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"-- {name}: {story}\n");
        text.Append(CultureInfo.InvariantCulture, $"-- {statements.Count} statement(s); a unit of work whose only statement is one sends COMMIT with it (ProductSql.AndCommit)\n");
        for (var i = 0; i < statements.Count; i++)
        {
            var statement = statements[i];
            text.Append('\n');
            text.Append(CultureInfo.InvariantCulture, $"-- statement {i + 1}: ");
            text.Append(statement.ExpectedRows is { } rows
                ? string.Create(CultureInfo.InvariantCulture, $"answers {rows} changed row(s); no row means: {statement.Conflict}\n")
                : "answers nothing\n");
            foreach (var constraint in statement.Refusals.Keys.Order(StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"-- a unique violation of {constraint} is refused, not retried\n");
            }

            text.Append(statement.Text.ReplaceLineEndings("\n")).Append(";\n");
            foreach (var (parameter, value) in statement.Parameters)
            {
                text.Append(CultureInfo.InvariantCulture, $"-- @{parameter} = {Literal(value)}\n");
            }
        }

        return text.ToString();
    }

    private static string Literal(object? value) => value switch
    {
        null => "NULL",
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        int n => n.ToString(CultureInfo.InvariantCulture),
        Guid g => g.ToString(),
        System.Collections.IEnumerable items => "{" + string.Join(", ", items.Cast<object?>().Select(Literal)) + "}",
        _ => throw new ArgumentException($"No literal for {value.GetType().Name}.", nameof(value)),
    };
}
