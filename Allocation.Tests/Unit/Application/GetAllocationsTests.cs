using Allocation.Application;
using Allocation.Application.Allocations;

namespace Allocation.Tests.Unit.Application;

public class GetAllocationsTests
{
    [Test]
    public async Task Lists_the_orders_allocations()
    {
        var reads = new FakeReadModel();
        reads.Allocations.Add(("o1", new OrderAllocation("LAMP", "b1")));
        reads.Allocations.Add(("o2", new OrderAllocation("SOFA", "b9")));

        var result = await Services.Allocations(new FakeUnitOfWorkFactory(new FakeStore()), reads)
            .GetAllocationsAsync("o1", CancellationToken.None);

        result.Should().Equal(new OrderAllocation("LAMP", "b1"));
    }

    [Test]
    public async Task An_order_without_allocations_is_not_found()
    {
        var act = () => Services.Allocations(new FakeUnitOfWorkFactory(new FakeStore()))
            .GetAllocationsAsync("o1", CancellationToken.None);

        await act.Should().ThrowAsync<OrderAllocationsNotFound>().WithMessage("Order o1 has no allocations");
    }
}
