namespace Allocation.Api.Operations;

internal static partial class StartupBanner
{
    public static void Log(ILogger logger, IEnumerable<string> addresses, bool swaggerEnabled)
    {
        foreach (var address in addresses)
        {
            LogListening(logger, address, swaggerEnabled ? address + "/swagger" : "(disabled)");
        }
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information,
        Message = "Allocation API listening on {Address}; Swagger UI at {SwaggerUi}")]
    private static partial void LogListening(ILogger logger, string address, string swaggerUi);
}
