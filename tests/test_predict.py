"""predict.py (issue 18): a shrunk rate, calibrated from the listing threshold up, that a user can trust."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from aggregator import present
from aggregator.model import AttendanceSnapshot, Contact, Event
from aggregator.ranking import predict
from aggregator.ranking import score as rank
from aggregator.ranking.predict import ContactHistory, GroupHistory, recency_weight
from tests.conftest import stored_event

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # a Tuesday
TUESDAY = 1


def weekly(n: int, came: set[int], *, days_apart: int = 7, first_ago: int = 7) -> tuple[ContactHistory, GroupHistory]:
    """A group's last n events on Tuesdays (index 0 the newest) and a contact who came to those in `came`."""
    weights = [recency_weight(first_ago + days_apart * i) for i in range(n)]
    group = GroupHistory(sum(weights), {TUESDAY: sum(weights)}, n)
    hits = sum(weights[i] for i in came)
    return ContactHistory(hits, {TUESDAY: hits} if came else {}, len(came)), group


def test_listing_threshold_is_the_one_the_cli_lists_from():
    assert predict.LISTED == present.LISTED == rank.MIN_LISTED


def test_a_small_groups_regular_is_predicted_near_their_record():
    """A group with five past events: its regulars are not shrunk toward a prior fitted on big groups
    (issue 18: "2 of the last 5" was 0.17-0.21; on real attendance such regulars came about half the time
    at 4 of 5, nearly always at 5 of 5)."""
    p = {k: predict.probability(*weekly(5, set(range(k))), TUESDAY) for k in range(1, 6)}
    assert p[5] > 0.75 and p[4] > 0.5 and p[3] > 0.3 and p[2] > 0.2
    assert p[1] < p[2] < p[3] < p[4] < p[5]
    # The same record in a group with a long history says less than in one whose whole history it is.
    many = predict.probability(*weekly(40, {0}), TUESDAY)
    assert predict.probability(*weekly(5, {0}), TUESDAY) > many
    # Once, a year ago, at a group that met every week since: not listed.
    assert predict.probability(*weekly(52, {51}), TUESDAY) < predict.LISTED


def test_calibration_is_monotone_linear_below_the_listing_rate_and_never_unlists():
    values = [predict.LOW_SCALE * i / 1000 for i in range(1, 1000)]  # what `rates` gives: LOW_SCALE x rate
    ps = [predict.calibrated(v) for v in values]
    assert ps == sorted(ps)  # more history never lowers P: any hit outranks none (coldstart.py)
    for v, p in zip(values, ps, strict=True):
        assert p >= v  # never below the linear part: coldstart.py's floor stays below any real history
        if v < predict.CALIBRATED_FROM:
            assert p == v < predict.LISTED  # linear in the sums: the score counts unlisted contacts from aggregates
        else:
            assert predict.LISTED <= p <= 1.0  # listed, never below the threshold
    assert predict.CALIBRATED_FROM == pytest.approx(predict.LOW_SCALE * predict.LIST_FROM)
    # Listed for what the record adds to the prior, not for the prior alone: at a group with little
    # history the prior's share is high, and a contact only there by it stays unlisted.
    none = 0.03 * predict.LOW_SCALE
    assert predict.calibrated(none + 0.5 * predict.CALIBRATED_FROM, none=none) < predict.LISTED
    assert predict.calibrated(none + predict.CALIBRATED_FROM, none=none) >= predict.LISTED
    # Rates below 5% are generous (rates of 1-5% came about a third as often): P is a fraction of them.
    assert predict.calibrated(predict.LOW_SCALE * 0.01) < 0.01
    assert predict.calibrated(predict.LOW_SCALE * 0.9) > 0.9  # timid at the top: regulars come more than it says
    assert predict.calibrated(predict.LOW_SCALE * 1.0) == 1.0


def test_rates_and_expected_total_are_the_linear_part_of_p():
    """The score sums every contact's P from per-group aggregates: `expected_total` must equal the sum
    of `rates` (weight 1) and `probability` must be `calibrated` of `rates`."""
    group = GroupHistory(10.0, {TUESDAY: 7.0, 5: 3.0}, 12)
    people = {1: ContactHistory(0.3, {5: 0.3}, 1), 2: ContactHistory(4.0, {TUESDAY: 4.0}, 5), 3: ContactHistory()}
    for slot in (TUESDAY, 5, None):
        values = predict.rates(people, group, slot)
        hits = sum(h.weighted for h in people.values())
        slot_hits = sum(h.by_slot.get(slot, 0.0) for h in people.values())
        assert predict.expected_total(slot_hits, hits, 3.0, group, slot) == pytest.approx(sum(values.values()))
        for cid, h in people.items():
            assert values[cid] == pytest.approx(predict.LOW_SCALE * predict.rate(h, group, slot))
            assert predict.probability(h, group, slot) == pytest.approx(predict.calibrated(values[cid]))


def test_a_contact_is_listed_for_their_own_record_not_for_the_prior():
    """Listed (at the 5% floor) once the record adds LIST_FROM to the rate of no record: on the real RSVPs
    such contacts came about 2% of the time, twenty times the unlisted ones (bench/ranking_real.py)."""
    once_lately = predict.probability(*weekly(40, {9}), TUESDAY)  # ten weeks ago, among a weekly group's forty
    assert once_lately == predict.LISTED
    # A group that met twice in the last two years: the prior alone is about 3%, yet one visit two years
    # ago adds nothing, so no one is listed for it; their P is a fraction of the rate.
    contact, group = weekly(2, {1}, days_apart=700, first_ago=30)
    rate = predict.rate(contact, group, TUESDAY)
    assert rate > predict.LIST_FROM
    p = predict.probability(contact, group, TUESDAY)
    assert p == pytest.approx(predict.LOW_SCALE * rate) and p < predict.LISTED


def test_calibration_holds_on_a_generated_history():
    """Contacts of many groups, each with a propensity drawn like real attendance (most came once or
    twice, a few are regulars; some stop coming); history = their past events, then who comes to the next four.
    Among the contacts listed (P >= 5%), predicted and observed agree overall and for the regulars."""
    rng = random.Random(18)
    pairs = []
    for _ in range(400):
        n = rng.choice([3, 5, 8, 12, 20, 30])
        for _ in range(rng.randint(5, 25)):
            q = rng.choice([0.01] * 5 + [0.04] * 3 + [0.12, 0.25, 0.5, 0.8])
            came = {i for i in range(n) if rng.random() < q}
            if not came:
                continue  # only contacts with history at the group are predicted
            contact, group = weekly(n, came)
            p = predict.probability(contact, group, TUESDAY)
            later = 0.0 if rng.random() < 0.15 else q  # some stop coming, as people do
            pairs += [(p, rng.random() < later) for _ in range(4)]
    listed = [(p, y) for p, y in pairs if p >= predict.LISTED]
    assert len(listed) > 2000
    mean_p, rate = sum(p for p, _ in listed) / len(listed), sum(y for _, y in listed) / len(listed)
    assert abs(mean_p - rate) < 0.03
    bins: dict[int, list[tuple[float, bool]]] = {}
    for p, y in listed:
        bins.setdefault(min(9, int(p * 10)), []).append((p, y))
    error = sum(abs(sum(p for p, _ in b) - sum(y for _, y in b)) for b in bins.values()) / len(listed)
    assert error < 0.05  # expected calibration error over 10 bins (bench/ranking_real.py's ECE)
    # The old rate (no calibration) was far off here: regulars at 4 of 5 came more than twice as often.
    assert len(bins) >= 8


def test_a_small_groups_regulars_lift_its_event_above_a_big_groups_occasional_visitors():
    """Two regulars at a monthly group (4 of its last 5) outweigh eight contacts who each came to 1 of
    the last 20 events of a weekly one: the score counts their calibrated P."""
    small = [weekly(5, {0, 1, 2, 3}, days_apart=30) for _ in range(2)]
    big = [weekly(20, {i}) for i in range(8)]
    snap = AttendanceSnapshot(
        now=NOW, groups={"Small": small[0][1], "Big": big[0][1]},
        history={"Small": {1: small[0][0], 2: small[1][0]}, "Big": {10 + i: c for i, (c, _) in enumerate(big)}},
        contacts={cid: Contact(cid, f"Person {cid}", weight=1.0, last_contacted="2026-11-20")
                  for cid in (1, 2, *range(10, 18))})
    social = rank.SocialModel(snap, rank.People(snap.contacts, NOW.date(), 182))
    start = NOW + timedelta(days=7)
    small_part, small_listed = social.chances(stored_event(Event("s", "Small night", start, group="Small")), [])
    big_part, _ = social.chances(stored_event(Event("b", "Big night", start, group="Big")), [])
    assert small_part > big_part
    assert [c.contact_id for c in small_listed] == [1, 2] and all(c.probability > 0.5 for c in small_listed)
    # The social part is 1 + the sum of their P (all read): it adds up as `why` says.
    assert small_part == pytest.approx(1 + sum(c.probability for c in small_listed))


def test_no_hits_is_the_rate_of_a_contact_with_no_hits_to_the_bit():
    """no_hits is written out (the score asks it per group and weekday); it must be `rates`' own value."""
    rng = random.Random(19)
    for _ in range(2000):
        group = predict.GroupHistory(rng.uniform(0, 50), {d: rng.uniform(0, 10) for d in range(7) if rng.random() < 0.6})
        for slot in (None, *range(7)):
            assert predict.no_hits(group, slot) == predict.rates({0: predict.ContactHistory()}, group, slot)[0]
