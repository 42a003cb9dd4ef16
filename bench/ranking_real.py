"""Who will be there, measured on real attendance: Nashville Meetup "yes" RSVPs, through the real CLI.

For each cut date and seeded sample of "your contacts" (issue 12's protocol,
../shared/data/meetup-rsvps-nashville/README.md):

- history = each group's events before the cut, written as one .ics per group
  whose past VEVENTs list the members who said yes as ATTENDEEs
  (CN=member-<id>, mailto:member-<id>@example.invalid: one email, one person);
- test = the group's events in the following 60 days, written without attendees;
- contacts = 300 members with at least two yes RSVPs before the cut (never chosen
  by what they do after it), as a LinkedIn Connections.csv;
- `aggregator fetch`, then `aggregator upcoming --json --limit 0 --days 60`
  with AGGREGATOR_NOW at the cut ("aggregator": its JSON lists contacts at
  P >= 0.05 only); "aggregator, all P" reads the same database in process for
  every contact's P (what `why` shows), since the score counts them all.

Measured per run, for each method (a probability per (test event, contact), absent = 0,
and an order of the test events):

- AUC: the per-event contact AUC (do the contacts who came get higher
  probabilities than those who did not; events with both), over all contacts;
- NDCG@10 of the event order over all test events of the 60 days, gain = the
  number of contacts who came; "weekly": the mean NDCG@10 of each week's events;
- ECE shown: the calibration error (10 bins) over the pairs the method lists
  (P >= 0.05, what a user sees); ECE regulars: over the pairs whose contact had
  come to the event's group before the cut (the same pairs for every method).

Methods: random; group popularity (mean yes count of the group's past events);
"plain share" (the share of the group's past events each contact attended, and
events ordered by its sum); "plain share, cut" (the same, shares below 0.05 set
to 0: a plain count listed at the CLI's threshold); "aggregator" (what
`upcoming --json` lists: the shown-list figures); "aggregator, all P" (every
contact's P). The summary compares the shown list with "plain share, cut"
(targets: AUC +0.02, NDCG@10 >= plain, ECE shown <= 0.03) and all P with "plain
share".

Reported: CUTS x seeds 1..--samples. Fitting: FIT_CUTS x FIT_SEEDS, whose test
windows overlap no reported one (--fit fits predict.py's constants on them,
in process: the rate's grid, then for each LIST_FROM its Platt map, LOW_SCALE and
the shown list's AUC margin over the plain cut; --fitting runs them through the
CLI, e.g. to check the cold-start newcomers' summed P against how many came).
Never report the fitting runs.

    python bench/ranking_real.py [--quick] [--contacts 300] [--samples 2] [--save F] [--before F]
    python bench/ranking_real.py --fit | --fitting

--quick (one cut, one sample) takes about 20 s on 2 cores; the full run (4 cuts x 2
samples) about 2 minutes; --fit about 30 s.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

UTC = timezone.utc
HERE = Path(__file__).resolve()
# ../shared beside the repository (a checkout) or beside the folder of worktrees.
DATA = next((p / "shared" / "data" / "meetup-rsvps-nashville" for p in HERE.parents[1:4]
             if (p / "shared" / "data" / "meetup-rsvps-nashville").exists()),
            HERE.parents[2] / "shared" / "data" / "meetup-rsvps-nashville")
# Reported cuts (their 60-day test windows) and contact samples (seeds 1, 2, ...).
CUTS = ["2016-09-01", "2017-01-15", "2017-05-01", "2017-08-01"]
# Fitting cuts: test windows disjoint from every reported one, and a contact sample (FIT_SEEDS) the
# report never draws; constants in predict.py / coldstart.py are fitted here only (--fit).
FIT_CUTS = ["2016-05-01", "2016-07-01", "2016-11-01"]
FIT_SEEDS = [101, 102]
TEST_DAYS = 60
BINS = 10
LISTED = 0.05  # the CLI lists contacts at P >= 0.05 (aggregator/present.py)


def load(folder: Path):
    def rows(name):
        with gzip.open(folder / name, "rt", encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    groups = {g["group_urlname"]: g["group_name"] for g in rows("groups.csv.gz")}
    events = {}
    for e in rows("events.csv.gz"):
        text = e["time"].strip()
        try:
            start = datetime.fromisoformat(text if len(text) > 10 else text + " 12:00:00").replace(tzinfo=UTC)
        except ValueError:
            continue
        events[e["event_id"]] = {"id": e["event_id"], "name": e["name"], "start": start,
                                 "group": e["group_urlname"], "yes": int(e["yes_rsvp_count"] or 0)}
    rsvps: dict[str, set[str]] = defaultdict(set)
    for r in rows("rsvps.csv.gz"):
        if r["event_id"] in events:
            rsvps[r["event_id"]].add(r["member_id"])
    return groups, events, rsvps


def ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def write_calendars(folder: Path, groups, events, rsvps, cut: datetime) -> dict[str, list[dict]]:
    """One .ics per group with events before cut + TEST_DAYS; the test events carry no attendees."""
    end = cut + timedelta(days=TEST_DAYS)
    by_group: dict[str, list[dict]] = defaultdict(list)
    for e in events.values():
        if e["start"] < end:
            by_group[e["group"]].append(e)
    for g, items in by_group.items():
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//nashville//EN"]
        for e in sorted(items, key=lambda e: e["start"]):
            lines += ["BEGIN:VEVENT", f"UID:{e['id']}@meetup.bench", f"SUMMARY:{ics_escape(e['name'][:200])}",
                      f"DTSTART:{e['start']:%Y%m%dT%H%M%SZ}", "DURATION:PT2H",
                      f"URL:https://www.meetup.com/{g}/events/{e['id']}/"]
            if e["start"] < cut:
                lines += [f"ATTENDEE;CN=member-{m};PARTSTAT=ACCEPTED:mailto:member-{m}@example.invalid"
                          for m in sorted(rsvps.get(e["id"], ()))]
            lines.append("END:VEVENT")
        lines.append("END:VCALENDAR")
        (folder / f"{g}.ics").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return by_group


def sample_contacts(events, rsvps, cut: datetime, n: int, seed: int) -> list[str]:
    count: dict[str, int] = defaultdict(int)
    for eid, members in rsvps.items():
        if events[eid]["start"] < cut:
            for m in members:
                count[m] += 1
    eligible = sorted(m for m, k in count.items() if k >= 2)
    return sorted(random.Random(seed).sample(eligible, min(n, len(eligible))))


def run_cli(folder: Path, groups, by_group, contacts: list[str], cut: datetime) -> list[dict]:
    rows = ["First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    rows += [f"Member,{m},,member-{m}@example.invalid,,,01 Jan 2015" for m in contacts]
    (folder / "Connections.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "timezone": "America/Chicago",
        "profile": {"topics": {}, "contacts": ["Connections.csv"], "reconnect_after_days": 182},
        "sources": [{"name": f"g{i}", "kind": "ics", "url": (folder / f"{g}.ics").resolve().as_uri(),
                     "group": groups.get(g, g)} for i, g in enumerate(sorted(by_group))],
        "fetch": {"per_host_delay": 0, "history_days": 1200},
    }))
    env = {**os.environ, "AGGREGATOR_NOW": cut.isoformat()}
    cli = [sys.executable, "-m", "aggregator", "--config", str(folder / "config.yaml")]
    subprocess.run(cli + ["fetch"], check=True, capture_output=True, env=env)
    out = subprocess.run(cli + ["upcoming", "--json", "--limit", "0", "--days", str(TEST_DAYS)], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout), every_probability(folder, cut)


def every_probability(folder: Path, cut: datetime) -> dict[str, dict[str, float]]:
    """{event url: {member: P}} of every contact with evidence, below the 0.05 listing threshold too
    (the JSON lists only those at 0.05 or more; `why` shows them all): in process, same database."""
    try:
        from aggregator import config
        from aggregator.ranking import listing
        from aggregator.store import Store
    except ImportError:
        return {}
    rank_events = getattr(listing, "rank_events", None)
    old = getattr(listing, "rank_rows", None)  # an aggregator from before the typed store values
    if rank_events is None and (old is None or "every" not in old.__code__.co_varnames):
        return {}  # an aggregator from before the complete lists
    settings = config.load(folder / "config.yaml")
    store = Store(settings.database)
    try:
        if rank_events is not None:
            events = store.events.between(start=cut, end=cut + timedelta(days=TEST_DAYS))
            items = rank_events(store, settings, events, now=cut, explain=False, every=True)
        else:
            rows = store.event_rows(start=cut, end=cut + timedelta(days=TEST_DAYS))
            items = old(store, settings, rows, now=cut, explain=False, every=True)
        return {i.event.url: {c.name.split()[-1]: c.probability for c in i.chances} for i in items}
    finally:
        store.close()


# -- measures -----------------------------------------------------------------
def auc(scores: list[float], labels: list[int]) -> float | None:
    pos = [s for s, y in zip(scores, labels, strict=False) if y]
    neg = [s for s, y in zip(scores, labels, strict=False) if not y]
    if not pos or not neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):  # average ranks over ties
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    pos_ranks = sum(r for r, y in zip(ranks, labels, strict=False) if y)
    return (pos_ranks - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def ndcg(order: list[str], gain: dict[str, float], k: int = 10) -> float:
    dcg = sum(gain.get(e, 0) / math.log2(i + 2) for i, e in enumerate(order[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gain.values(), reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def calibration(pairs: list[tuple[float, int]]) -> tuple[float, list[tuple[int, float, float]]]:
    """(ECE, [(count, mean predicted, observed rate)] per bin of width 1/BINS)."""
    bins: list[list[tuple[float, int]]] = [[] for _ in range(BINS)]
    for p, y in pairs:
        bins[min(BINS - 1, int(p * BINS))].append((p, y))
    table, error = [], 0.0
    for b in bins:
        if b:
            mean_p, rate = sum(p for p, _ in b) / len(b), sum(y for _, y in b) / len(b)
            table.append((len(b), mean_p, rate))
            error += len(b) / len(pairs) * abs(mean_p - rate)
        else:
            table.append((0, 0.0, 0.0))
    return error, table


def weekly_ndcg(order: list[str], gain: dict[str, float], week_of: dict[str, int], k: int = 10) -> float:
    """Mean over the window's weeks (with anyone coming) of NDCG@k of that week's events in `order`."""
    scores = []
    for week in sorted(set(week_of.values())):
        inside = {e: g for e, g in gain.items() if week_of.get(e) == week}
        if any(inside.values()):
            scores.append(ndcg([e for e in order if e in inside], inside, k))
    return sum(scores) / len(scores) if scores else 0.0


def evaluate(method_probs: dict[str, dict[str, float]], order: list[str], tests: list[dict], rsvps,
             contacts: list[str], regulars: dict[str, set[str]], cut: datetime) -> dict[str, Any]:
    """The measures of one method: its probabilities per (event, contact) (absent: 0) and event order.

    auc: mean per-event AUC over all contacts; ndcg: NDCG@10 of the order over all test events;
    weekly: mean NDCG@10 per week; ece: over the pairs whose contact had come to the group before
    (the same pairs for every method); ece_shown: over the pairs the method gives P >= LISTED (what
    a user sees listed).
    """
    aucs, pairs, shown, gain, newcomers = [], [], [], {}, []
    for e in tests:
        came = rsvps.get(e["id"], set())
        probs = method_probs.get(e["id"], {})
        labels = [int(c in came) for c in contacts]
        scores = [probs.get(c, 0.0) for c in contacts]
        gain[e["id"]] = sum(labels)
        a = auc(scores, labels)
        if a is not None:
            aucs.append(a)
        # Calibration over the pairs where a prediction is at stake, the same for every method:
        # contacts who had come to the event's group before the cut.
        pairs += [(s, y) for c, s, y in zip(contacts, scores, labels, strict=False) if c in regulars.get(e["group"], ())]
        shown += [(s, y) for s, y in zip(scores, labels, strict=False) if s >= LISTED]
        # Newcomers (no history at the group) the method gives a P: is their summed P honest?
        newcomers += [(s, y) for c, s, y in zip(contacts, scores, labels, strict=False)
                      if s > 0 and c not in regulars.get(e["group"], ())]
    ece, table = calibration(pairs)
    week_of = {e["id"]: (e["start"] - cut).days // 7 for e in tests}
    return {"auc": sum(aucs) / len(aucs) if aucs else float("nan"), "ndcg": ndcg(order, gain),
            "weekly": weekly_ndcg(order, gain, week_of), "ece": ece,
            "ece_shown": calibration(shown)[0] if shown else 0.0, "shown": len(shown),
            "table": table, "events_scored": len(aucs),
            "newcomers": (len(newcomers), sum(p for p, _ in newcomers), sum(y for _, y in newcomers))}


def baselines(events, rsvps, tests: list[dict], contacts: list[str], cut: datetime, seed: int):
    """(probabilities, order) of random, popularity and the plain per-group share."""
    past: dict[str, list[str]] = defaultdict(list)
    for e in events.values():
        if e["start"] < cut:
            past[e["group"]].append(e["id"])
    wanted = set(contacts)
    share: dict[str, dict[str, float]] = {}
    for g, ids in past.items():
        hits: dict[str, int] = defaultdict(int)
        for eid in ids:
            for m in rsvps.get(eid, set()) & wanted:
                hits[m] += 1
        share[g] = {m: k / len(ids) for m, k in hits.items()}
    popularity = {g: sum(len(rsvps.get(i, ())) for i in ids) / len(ids) for g, ids in past.items()}
    rng = random.Random(seed)
    by_start = sorted(tests, key=lambda e: (e["start"], e["id"]))
    out = {}
    shuffled = list(by_start)
    rng.shuffle(shuffled)
    out["random"] = ({e["id"]: {c: rng.random() * 0.1 for c in contacts} for e in tests}, [e["id"] for e in shuffled])
    mean_share = sum(len(rsvps.get(e["id"], set()) & wanted) for e in tests) / max(1, len(tests) * len(contacts))
    out["group popularity"] = (
        {e["id"]: {c: mean_share for c in contacts} for e in tests},
        [e["id"] for e in sorted(by_start, key=lambda e: -popularity.get(e["group"], 0.0))])
    plain_order = [e["id"] for e in sorted(by_start, key=lambda e: -sum(share.get(e["group"], {}).values()))]
    out["plain share"] = ({e["id"]: share.get(e["group"], {}) for e in tests}, plain_order)
    # What a list of plain shares would show: the same cut as the CLI's (below it: not listed, 0).
    out["plain share, cut"] = ({e["id"]: {m: p for m, p in share.get(e["group"], {}).items() if p >= LISTED}
                                for e in tests}, plain_order)
    return out


def run(groups, events, rsvps, cut_text: str, seed: int, n_contacts: int) -> dict[str, dict]:
    cut = datetime.fromisoformat(cut_text).replace(tzinfo=UTC)
    contacts = sample_contacts(events, rsvps, cut, n_contacts, seed)
    tests = [e for e in events.values() if cut <= e["start"] < cut + timedelta(days=TEST_DAYS)]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        by_group = write_calendars(folder, groups, events, rsvps, cut)
        began = time.perf_counter()
        items, every = run_cli(folder, groups, by_group, contacts, cut)
        elapsed = time.perf_counter() - began
    event_of_url = {f"https://www.meetup.com/{e['group']}/events/{e['id']}/": e["id"] for e in tests}
    ours_probs: dict[str, dict[str, float]] = {}
    order = []
    for item in items:
        eid = event_of_url.get(item.get("url") or "")
        if eid is None:
            continue
        order.append(eid)
        ours_probs[eid] = {c["name"].split()[-1]: c["probability"] for c in item["contacts"]}
    missing = [e for e in tests if e["id"] not in ours_probs]
    order += [e["id"] for e in sorted(missing, key=lambda e: e["start"])]  # not listed: last
    wanted = set(contacts)
    regulars: dict[str, set[str]] = defaultdict(set)
    for e in events.values():
        if e["start"] < cut:
            regulars[e["group"]] |= rsvps.get(e["id"], set()) & wanted
    results = {name: evaluate(p, o, tests, rsvps, contacts, regulars, cut)
               for name, (p, o) in baselines(events, rsvps, tests, contacts, cut, seed).items()}
    results["aggregator"] = evaluate(ours_probs, order, tests, rsvps, contacts, regulars, cut)
    if every:
        complete = {event_of_url[u]: p for u, p in every.items() if u in event_of_url}
        results["aggregator, all P"] = evaluate(complete, order, tests, rsvps, contacts, regulars, cut)
    else:
        results["aggregator, all P"] = results["aggregator"]
    results["aggregator"]["seconds"] = elapsed
    results["aggregator"]["unlisted_events"] = len(missing)
    return results


def fit_events(events, rsvps, cut_text: str, seed: int, n_contacts: int, half_life: float):
    """(sampled contacts, [(test event, contacts who came, [(contact, contact history, group history,
    slot, plain share)] of the contacts with history at its group)]), in process."""
    from zoneinfo import ZoneInfo

    from aggregator.ranking.predict import ContactHistory, GroupHistory, recency_weight

    cut = datetime.fromisoformat(cut_text).replace(tzinfo=UTC)
    offset = cut.astimezone(ZoneInfo("America/Chicago")).utcoffset()
    slot = (lambda when: (when + offset).weekday())
    sample = sample_contacts(events, rsvps, cut, n_contacts, seed)
    contacts = set(sample)
    groups: dict[str, list] = defaultdict(lambda: [0.0, defaultdict(float)])
    held: dict[str, int] = defaultdict(int)  # past events, with RSVPs or not (the plain share's denominator)
    hits: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0.0, defaultdict(float), 0]))
    for e in events.values():
        came = rsvps.get(e["id"], set())
        if e["start"] < cut:
            held[e["group"]] += 1
        if e["start"] >= cut or not came:
            continue
        w = recency_weight((cut - e["start"]).total_seconds() / 86400, half_life)
        g = groups[e["group"]]
        g[0] += w
        g[1][slot(e["start"])] += w
        for m in came & contacts:
            h = hits[e["group"]][m]
            h[0] += w
            h[1][slot(e["start"])] += w
            h[2] += 1
    tests = []
    for e in events.values():
        if not (cut <= e["start"] < cut + timedelta(days=TEST_DAYS)):
            continue
        total, by_slot = groups.get(e["group"], (0.0, {}))
        group = GroupHistory(total, dict(by_slot))
        pairs = [(m, ContactHistory(w, dict(by), n), group, slot(e["start"]), n / held[e["group"]])
                 for m, (w, by, n) in hits.get(e["group"], {}).items()]
        tests.append((e, rsvps.get(e["id"], set()) & contacts, pairs))
    return sample, tests


def fit_pairs(events, rsvps, cut_text: str, seed: int, n_contacts: int, half_life: float):
    """[(contact history, group history, slot, came)] for (test event, sampled contact with history at its group)."""
    _, tests = fit_events(events, rsvps, cut_text, seed, n_contacts, half_life)
    return [(c, g, s, int(m in came)) for _, came, pairs in tests for m, c, g, s, _ in pairs]


def platt(rates: list[float], labels: list[int]) -> tuple[float, float]:
    """(a, b) minimising the log loss of sigmoid(a + b x logit(rate)): Newton's method on two parameters."""
    xs = [math.log(r / (1 - r)) for r in rates]
    a, b = 0.0, 1.0
    for _ in range(25):
        ga = gb = haa = hab = hbb = 0.0
        for x, y in zip(xs, labels, strict=True):
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, a + b * x))))
            w = max(p * (1 - p), 1e-9)
            ga += p - y
            gb += (p - y) * x
            haa += w
            hab += w * x
            hbb += w * x * x
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-7:
            break
    return a, b


def fit(events, rsvps, n_contacts: int) -> None:
    """Grid-search predict.py's rate constants, each with its Platt map fitted by Newton's method, for the
    lowest log loss of the calibrated P (before predict.calibrated's floor at LISTED) on FIT_CUTS x FIT_SEEDS."""
    from aggregator.ranking.predict import log_loss, rate

    best = []
    for half_life in (60.0, 90.0, 180.0, 365.0):
        pairs = [p for cut in FIT_CUTS for seed in FIT_SEEDS
                 for p in fit_pairs(events, rsvps, cut, seed, n_contacts, half_life)]
        labels = [y for *_, y in pairs]
        for prior in (0.025, 0.05, 0.1, 0.2):
            for strength in (1.5, 2.5, 4.0, 8.0):
                for slot_strength in (4.0, 8.0, 16.0):
                    rates = [min(1 - 1e-6, max(1e-6, rate(c, g, s, prior=prior, strength=strength,
                                                           slot_strength=slot_strength))) for c, g, s, _ in pairs]
                    a, b = platt(rates, labels)
                    loss = log_loss([(1 / (1 + math.exp(-(a + b * math.log(r / (1 - r))))), y)
                                     for r, y in zip(rates, labels, strict=True)])
                    best.append((loss, half_life, prior, strength, slot_strength, a, b, len(pairs)))
    best.sort()
    print("log loss  half-life  prior  strength  slot strength  Platt a  Platt b  pairs")
    for loss, *rest in best[:10]:
        print(f"{loss:.5f}   {rest[0]:6.0f}   {rest[1]:6.3f}  {rest[2]:5.1f}  {rest[3]:8.1f}  "
              f"{rest[4]:8.3f} {rest[5]:7.3f}  {rest[6]:7d}")


def fit_listing(events, rsvps, n_contacts: int) -> None:
    """From what a contact is listed (predict.LIST_FROM: their record adds that much to the rate of no
    record), each with its Platt map (fitted on the listed pairs) and LOW_SCALE (the unlisted pairs'
    came / summed rate): the shown list's per-event AUC (unlisted = 0) against the plain share cut at
    LISTED, ECE over the shown pairs and over the pairs with history, on FIT_CUTS x FIT_SEEDS."""
    from aggregator.ranking.predict import HALF_LIFE_DAYS, ContactHistory, rate

    runs = [fit_events(events, rsvps, cut, seed, n_contacts, HALF_LIFE_DAYS) for cut in FIT_CUTS for seed in FIT_SEEDS]
    print("\nlist from  Platt a  Platt b  low scale  AUC - plain cut (min run)  ECE shown  ECE history  listed/run")
    for list_from in (0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03):
        scored = [[(m, rate(c, g, s), rate(ContactHistory(), g, s), share) for m, c, g, s, share in pairs]
                  for _, tests in runs for _, _, pairs in tests]
        came = [came for _, tests in runs for _, came, _ in tests]
        up = [(r, int(m in y)) for pairs, y in zip(scored, came, strict=True) for m, r, none, _ in pairs
              if r - none >= list_from]
        down = [(r, int(m in y)) for pairs, y in zip(scored, came, strict=True) for m, r, none, _ in pairs
                if r - none < list_from]
        a, b = platt([min(r, 1 - 1e-6) for r, _ in up], [y for _, y in up])
        scale = sum(y for _, y in down) / sum(r for r, _ in down)

        def p_of(r, none, a=a, b=b, scale=scale, list_from=list_from):
            if r - none < list_from:
                return scale * r
            r = min(r, 1 - 1e-6)
            return max(LISTED, 1 / (1 + math.exp(-(a + b * math.log(r / (1 - r))))))

        margins, shown, history, count = [], [], [], 0
        for sample, tests in runs:
            ours, plain = [], []
            for _, y, pairs in tests:
                p = {m: p_of(rate(c, g, s), rate(ContactHistory(), g, s)) for m, c, g, s, _ in pairs}
                history += [(v, int(m in y)) for m, v in p.items()]
                shown += [(v, int(m in y)) for m, v in p.items() if v >= LISTED]
                count += sum(v >= LISTED for v in p.values())
                share = {m: v for m, *_, v in pairs if v >= LISTED}
                labels = [int(m in y) for m in sample]
                mine = auc([p.get(m, 0.0) if p.get(m, 0.0) >= LISTED else 0.0 for m in sample], labels)
                if mine is not None:
                    ours.append(mine)
                    plain.append(auc([share.get(m, 0.0) for m in sample], labels))
            margins.append((sum(ours) - sum(plain)) / len(ours))
        print(f"{list_from:8.4f}  {a:7.3f}  {b:7.3f}  {scale:9.3f}   {sum(margins) / len(margins):+.4f} "
              f"({min(margins):+.4f})     {calibration(shown)[0]:.4f}    {calibration(history)[0]:.4f}  "
              f"{count / len(runs):8.0f}")


MEASURES = [("auc", "AUC"), ("ndcg", "NDCG@10"), ("weekly", "weekly"), ("ece_shown", "ECE shown"),
            ("ece", "ECE regulars")]
METHODS = ["random", "group popularity", "plain share", "plain share, cut", "aggregator", "aggregator, all P"]


def summary(totals: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    return {m: {k: sum(r[k] for r in rs) / len(rs) for k, _ in MEASURES} for m, rs in totals.items() if rs}


def print_summary(means: dict[str, dict[str, float]], before: dict[str, dict[str, float]] | None) -> None:
    print("  " + f"{'method':<18}" + "".join(f"{label:>14}" for _, label in MEASURES))
    for m in METHODS:
        if m not in means:
            continue
        cells = []
        for k, _ in MEASURES:
            now = means[m][k]
            was = (before or {}).get(m, {}).get(k)
            cells.append(f"{now:7.3f}" + (f" ({was:.3f})" if was is not None and m.startswith("aggregator")
                                          else " " * 8))
        print("  " + f"{m:<18}" + "".join(f"{c:>14}" for c in cells))
    if before:
        print("  (in brackets: --before's figures)")
    ours, cut, plain = means["aggregator"], means["plain share, cut"], means["plain share"]
    print(f"shown list (what `upcoming --json` lists; unlisted = 0): AUC - plain cut at {LISTED} = "
          f"{ours['auc'] - cut['auc']:+.3f} (target >= +0.02), NDCG@10 - plain = {ours['ndcg'] - cut['ndcg']:+.3f}"
          f" (>= 0), weekly NDCG - plain = {ours['weekly'] - cut['weekly']:+.3f}, ECE over the shown pairs "
          f"{ours['ece_shown']:.3f} (<= 0.03; plain's {cut['ece_shown']:.3f})")
    every = means["aggregator, all P"]
    print(f"all P (every contact's P, as `why` shows): AUC - plain = {every['auc'] - plain['auc']:+.3f}, "
          f"NDCG@10 - plain = {every['ndcg'] - plain['ndcg']:+.3f}, ECE over regulars {every['ece']:.3f} "
          f"(plain's {plain['ece']:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one cut, one sample (about a minute on 2 cores)")
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--samples", type=int, default=2, help="seeded contact samples per cut")
    parser.add_argument("--cuts", nargs="*", default=None)
    parser.add_argument("--table", action="store_true", help="print the calibration table of each run")
    parser.add_argument("--fit", action="store_true",
                        help="fit predict.py's constants instead, on FIT_CUTS x FIT_SEEDS (never reported)")
    parser.add_argument("--fitting", action="store_true",
                        help="run the fitting cuts and samples (FIT_CUTS x FIT_SEEDS) instead of the reported ones")
    parser.add_argument("--save", type=Path, help="write the means to this JSON file")
    parser.add_argument("--before", type=Path, help="a --save file: print its figures beside these")
    args = parser.parse_args()
    if not (DATA / "rsvps.csv.gz").exists():
        sys.exit(f"no data at {DATA} (../shared/data/meetup-rsvps-nashville): nothing to measure")
    groups, events, rsvps = load(DATA)
    if args.fit:
        fit(events, rsvps, args.contacts)
        fit_listing(events, rsvps, args.contacts)
        return
    cuts = args.cuts or (FIT_CUTS if args.fitting else ["2017-05-01"] if args.quick else CUTS)
    seeds = FIT_SEEDS if args.fitting else range(1, (1 if args.quick else args.samples) + 1)
    totals: dict[str, list[dict]] = defaultdict(list)
    if args.fitting:
        print(f"FITTING cuts {' '.join(cuts)} x seeds {FIT_SEEDS}: for fitting constants, never to be reported")
    else:
        print(f"reported cuts {' '.join(cuts)} x contact samples (seeds) {', '.join(map(str, seeds))}; "
              f"fitting cuts {' '.join(FIT_CUTS)} x seeds {FIT_SEEDS} are never reported")
    print(f"{'cut':<11} {'seed':>4}  {'method':<18}" + "".join(f"{label:>13}" for _, label in MEASURES))
    for cut in cuts:
        for seed in seeds:
            results = run(groups, events, rsvps, cut, seed, args.contacts)
            for m in METHODS:
                r = results[m]
                totals[m].append(r)
                extra = (f"   ({r['events_scored']} events scored, {r['shown']} pairs listed, "
                         f"CLI {r['seconds']:.0f}s)" if m == "aggregator" else "")
                print(f"{cut:<11} {seed:>4}  {m:<18}" + "".join(f"{r[k]:13.3f}" for k, _ in MEASURES) + extra)
            if args.table:
                print("   calibration (aggregator): n, mean P, observed")
                for n, p, rate in results["aggregator"]["table"]:
                    if n:
                        print(f"   {n:7d} {p:6.3f} {rate:6.3f}")
    means = summary(totals)
    before = json.loads(args.before.read_text()) if args.before else None
    print(f"\nmean over {len(totals['aggregator'])} runs:")
    print_summary(means, before)
    ours = totals["aggregator, all P"]
    n, expected, came = (sum(r["newcomers"][i] for r in ours) for i in range(3))
    print(f"newcomers given a P (aggregator, all P): {n} pairs, expected {expected:.1f} came, {came} came")
    if args.save:
        args.save.write_text(json.dumps(means, indent=1))


if __name__ == "__main__":
    main()
