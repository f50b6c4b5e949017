using Allocation.Infrastructure.Persistence;

namespace Allocation.Tests.Unit.Infrastructure;

public class ProductSqlTests
{
    // The constants themselves (as ProductChanges hands them over), not copies read by reflection.
    private static readonly string[] StatementsThatGoAlone = [ProductSql.AllocateLine, ProductSql.RecordEvents, ProductSql.StoreChanges];

    [TestCaseSource(nameof(StatementsThatGoAlone))]
    public void A_statement_that_goes_alone_gets_its_commit_appended_once(string statement)
    {
        var committed = ProductSql.WithCommit(statement);

        committed.Should().Be(statement + ProductSql.AndCommit);
        ProductSql.WithCommit(statement).Should().BeSameAs(committed, "the text with its commit is built once, not on every execution");
    }

    [Test]
    public void Any_other_text_gets_the_commit_appended_too()
    {
        var text = string.Concat("SELECT ", "1");

        ProductSql.WithCommit(text).Should().Be("SELECT 1" + ProductSql.AndCommit);
    }
}
