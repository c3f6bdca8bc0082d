"""The time-left estimate of a training run, fed with synthetic timings."""

import pytest

from convlab.core.time_left import TimeLeft, duration_text


def reports(batch_times, batch=32):
    """(time, samples done) after each batch of a run that starts at t = 10."""
    t, done = 10.0, 0
    for dt in batch_times:
        t += dt
        done += batch
        yield t, done


def test_a_slow_warm_up_does_not_make_a_3_s_run_promise_minutes():
    # the first 3 batches take 0.2 s each (warm-up), then 0.01 s each: 3 s in all
    times = [0.2] * 3 + [0.01] * 240
    total = 32 * len(times)
    left = TimeLeft()
    left.start(10.0)
    estimates = []
    for t, done in reports(times):
        estimates.append((t, done, left.update(t, done, total)))
    end = estimates[-1][0]
    first_rate = 32 / 0.2  # what the first batch alone says: 160 samples/s
    assert (total - 32) / first_rate > 45  # the old estimate after batch 1: 15 times the whole run
    given = [(t, e) for t, _, e in estimates if e is not None]
    assert given and given[0][0] < 10.0 + 1.5  # an estimate comes soon after the warm-up
    for t, e in given[:-1]:
        assert e == pytest.approx(end - t, rel=0.1, abs=0.05)  # within 10% of the truth
    assert all(e is None for t, _, e in estimates if t - 10.0 < 0.5)  # none during the warm-up
    assert left.rate == pytest.approx(3200, rel=0.01)


def test_time_paused_counts_neither_for_the_speed_nor_the_warm_up():
    left = TimeLeft(warmup_s=0.5, measure_s=0.3)
    left.start(0.0)
    assert left.update(0.4, 40, 1000) is None
    left.pause(0.4)
    left.resume(100.4)  # 100 s paused
    assert left.update(0.6 + 100, 60, 1000) is None  # warm-up ends here (0.6 s active)
    assert left.update(1.0 + 100, 100, 1000) == pytest.approx(9.0)  # 40 samples in 0.4 s: 100/s, 900 left
    left.pause(101.0)
    assert left.update(150.0, 100, 1000) == pytest.approx(9.0)  # a report while paused changes nothing


def test_a_new_run_starts_afresh_and_durations_read_well():
    left = TimeLeft()
    left.start(0.0)
    left.update(1.0, 100, 200)
    left.update(2.0, 150, 200)
    assert left.rate is not None
    left.start(5.0)
    assert left.rate is None and left.update(5.1, 10, 200) is None
    assert [duration_text(s) for s in (3.2, 96, 3725)] == ["3 s", "1 min 36 s", "1 h 02 min"]
