using System.Net.Mime;
using Allocation.Api.Contracts;
using Allocation.Api.Errors;
using Allocation.Api.Security;
using Allocation.Application.Events;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Controllers;

/// <summary>What the service decided, as events other services can follow.</summary>
[ApiController]
public sealed class EventsController(EventFeedService feed) : ControllerBase
{
    /// <summary>Reads the event feed: every stored event, oldest first.</summary>
    /// <remarks>
    /// Walk it by passing the returned `cursor` as `after`: an event that commits later never takes a
    /// place before one already served, so a reader that does this never misses an event, and sees
    /// each SKU's events in `skusequence` order. An event appears once the transactions that started
    /// before it have ended (normally within milliseconds). Events older than the retention period
    /// (7 days by default) are pruned.
    /// </remarks>
    /// <param name="query">Where to start and how many.</param>
    /// <param name="cancellationToken">Cancelled when the client goes away.</param>
    /// <response code="200">The events after `after`, at most `limit`, and the cursor to read on from.</response>
    /// <response code="400">`after` is not a cursor this feed returned, or `limit` is outside 1 to 1,000.</response>
    [Authorize(Policy = Scopes.AllocationRead)]
    [HttpGet("events")]
    [HttpHead("events")]
    [ProducesResponseType<EventFeedResponse>(StatusCodes.Status200OK, MediaTypeNames.Application.Json)]
    [ProducesResponseType<ValidationProblemDetails>(StatusCodes.Status400BadRequest, MediaTypeNames.Application.ProblemJson)]
    public async Task<ActionResult<EventFeedResponse>> GetEvents([FromQuery] EventFeedQuery query, CancellationToken cancellationToken)
    {
        var after = FeedPosition.TryParse(query.After, out var position) ? position : (FeedPosition?)null;
        try
        {
            return EventFeedResponse.From(await feed.ReadAsync(after, query.Limit ?? EventFeedService.DefaultLimit, cancellationToken));
        }
        catch (UnknownFeedPosition)
        {
            // The same problem as a cursor that does not parse: neither came from this feed.
            return ModelStateProblems.Validation(HttpContext, new Dictionary<string, string[]> { ["after"] = [EventFeedQueryValidator.NotACursor] });
        }
    }
}
