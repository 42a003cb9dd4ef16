"""What the feed reads (issue 11 item 2): its window, and a runaway series capped in SQL
before anything is ranked; otherwise exactly the events `store.events.between` gives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar

from aggregator import config, feed
from aggregator.model import Event
from aggregator.store import Store, event_id
from tests.conftest import NOW, PORTLAND, write_config
from tests.test_feed import sample_events

UTC = timezone.utc


def make(tmp_path, **feed_settings):
    path = write_config(tmp_path, [{"name": "src", "kind": "ics", "url": "https://example.org/a.ics"}],
                        feed=feed_settings)
    settings = config.load(path)
    return settings, Store(settings.database)


def test_without_a_runaway_series_the_feed_reads_what_between_gives(tmp_path):
    settings, store = make(tmp_path)
    store.events.save("src", sample_events(), now=NOW - timedelta(days=1), tz=PORTLAND)
    store.events.save("other", [Event("dup", "Python night", datetime(2026, 12, 4, 2, 30, tzinfo=UTC))],
                      now=NOW, tz=PORTLAND)
    store.database.db["events"].update(event_id("other", "dup"), {"canonical_id": event_id("src", "py")})
    store.database.db["events"].update(event_id("src", "py"), {"canonical_id": event_id("src", "py")})
    store.database.db["events"].update(event_id("src", "rust"), {"removed_at": "2026-11-30T10:00:00Z"})
    store.database.db["events"].update(event_id("src", "hack"), {"removed_at": "2026-10-01T10:00:00Z"})  # long gone
    for now in (NOW, NOW + timedelta(days=20), NOW - timedelta(days=40)):
        expected = store.events.between(start=now - timedelta(days=settings.feed.days_back),
                                        end=now + timedelta(days=settings.feed.days_ahead),
                                        changed_since=now - timedelta(days=feed.CANCELLED_KEPT_DAYS))
        assert expected and feed.window_events(store, settings, now) == expected
    store.close()


def test_a_minutely_series_is_capped_per_day_before_ranking(tmp_path, monkeypatch):
    settings, store = make(tmp_path, limit_per_week=3)
    first = NOW + timedelta(hours=1)
    series = [Event(f"standup/{i}", "Python standup", first + timedelta(minutes=i), group="PDX Python")
              for i in range(3 * 24 * 60)]  # three days, every minute
    series.append(Event("standup/gone", "Python standup", first + timedelta(minutes=5), status="cancelled"))
    series.append(Event("talk", "Python and Rust talk", first + timedelta(hours=2), group="PDX Python"))
    store.events.save("src", series, now=NOW, tz=PORTLAND)
    ranked_rows = []
    real = feed.rank_events
    monkeypatch.setattr(feed, "rank_events", lambda store, settings, events, **kw: (
        ranked_rows.append(len(events)), real(store, settings, events, **kw))[1])
    built = feed.build(store, settings, now=NOW)
    # 3 a UTC day for the series (4 days touched), the talk and the cancellation: not 4,322 rows.
    assert ranked_rows == [3 * 4 + 2]
    titles = [str(c["SUMMARY"]) for c in icalendar.Calendar.from_ical(built.body).walk("VEVENT")]
    assert "Python and Rust talk" in titles  # the best of the week still wins
    assert event_id("src", "standup/gone") in built.vevents  # cancellations are never capped away
    store.close()


def test_no_weekly_limit_means_every_row_of_the_window(tmp_path):
    settings, store = make(tmp_path, limit_per_week=0)
    store.events.save("src", [Event(f"s/{i}", "Python standup", NOW + timedelta(minutes=i)) for i in range(50)],
                      now=NOW, tz=PORTLAND)
    assert len(feed.window_events(store, settings, NOW)) == 50
    store.close()
