namespace Allocation.Infrastructure.Messaging;

/// <summary>The broker could not be reached, dropped the connection, or did not confirm in time.</summary>
internal sealed class BrokerUnavailable(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>The broker answered with a negative confirm (e.g. a queue at its length limit refusing publishes).</summary>
internal sealed class BrokerRefused(string message, Exception innerException) : Exception(message, innerException);
