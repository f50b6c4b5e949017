using Allocation.Tests.Support;

// No namespace: NUnit runs a namespace-less SetUpFixture around the whole assembly.
[SetUpFixture]
public sealed class SuiteTeardown
{
    [OneTimeTearDown]
    public Task RemoveTheSharedDatabase() => TestDatabase.DisposeSharedAsync();
}
