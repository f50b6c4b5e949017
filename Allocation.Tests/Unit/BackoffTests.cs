using Allocation.Application.Common;
using Allocation.Infrastructure;

namespace Allocation.Tests.Unit;

/// <summary>The one back-off of the background work: exponential, capped, jittered; and the spread of periodic work.</summary>
public class BackoffTests
{
    [Test]
    public void Pauses_double_from_the_first_up_to_the_cap_each_drawn_between_half_its_ceiling_and_the_ceiling()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), new Random(17));

        var pauses = Enumerable.Range(0, 30).Select(_ => backoff.Next()).ToList();

        for (var i = 0; i < pauses.Count; i++)
        {
            var ceiling = TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, i), 1000));
            pauses[i].Should().BeGreaterThanOrEqualTo(ceiling / 2).And.BeLessThanOrEqualTo(ceiling, $"pause {i + 1}");
        }

        backoff.Failures.Should().Be(30);
    }

    [Test]
    public void After_many_failures_the_pauses_stay_at_or_under_the_cap_and_are_spread_not_equal()
    {
        var cap = TimeSpan.FromSeconds(5);
        var backoff = new Backoff(TimeSpan.FromMilliseconds(500), cap, new Random(3));
        for (var i = 0; i < 10; i++)
        {
            backoff.Next();
        }

        var capped = Enumerable.Range(0, 200).Select(_ => backoff.Next()).ToList();

        capped.Should().OnlyContain(p => p <= cap && p >= cap / 2);
        capped.Distinct().Should().HaveCountGreaterThan(190, "jittered, so that instances that failed together retry apart");
        (capped.Max() - capped.Min()).Should().BeGreaterThan(cap / 3, "spread over the range, not bunched");
    }

    [Test]
    public void Two_instances_failing_in_step_pause_differently()
    {
        var (a, b) = (new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)), new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));

        var pairs = Enumerable.Range(0, 10).Select(_ => (A: a.Next(), B: b.Next())).ToList();

        pairs.Should().Contain(p => p.A != p.B);
    }

    [Test]
    public void A_success_starts_again_from_the_first_pause()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10));
        for (var i = 0; i < 8; i++)
        {
            backoff.Next();
        }

        backoff.Reset();

        backoff.Failures.Should().Be(0);
        backoff.Next().Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(100));
    }

    [Test]
    public void A_first_pause_above_the_cap_is_lowered_to_it()
    {
        var backoff = new Backoff(TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(20));

        backoff.First.Should().Be(TimeSpan.FromMilliseconds(20));
        backoff.Next().Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(20));
    }

    [Test]
    public void Periodic_work_starts_anywhere_in_its_first_period_and_then_comes_every_period_give_or_take_ten_percent()
    {
        var period = TimeSpan.FromMinutes(1);
        var random = new Random(5);

        var first = Enumerable.Range(0, 200).Select(_ => Jitter.FirstWait(period, random)).ToList();
        var later = Enumerable.Range(0, 200).Select(_ => Jitter.Period(period, random)).ToList();

        first.Should().OnlyContain(w => w >= TimeSpan.Zero && w <= period);
        first.Should().Contain(w => w < period / 4).And.Contain(w => w > period * 3 / 4, "spread over the whole period");
        later.Should().OnlyContain(w => w >= period * 0.9 && w <= period * 1.1);
        later.Distinct().Should().HaveCountGreaterThan(190);
    }
}
