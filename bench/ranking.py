"""Ranking quality on a seeded synthetic city, run through the real pipeline.

Groups on topics publish iCal feeds (served from 127.0.0.1) whose past events
list ATTENDEEs and whose upcoming events list a few early RSVPs; the user's
LinkedIn-format export names their contacts, often spelled differently from
the feeds. `aggregator fetch` and `aggregator upcoming --json` run as a user
would run them. Then, against who "really" comes to each upcoming event:

- NDCG@10 of `upcoming` vs chronological order, topic-only order, and a plain
  contacts baseline (topic x (1 + sum of raw past attendance rates));
- the AUC of contacts[].probability against who really came.

    python bench/ranking.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
TOPICS = {  # group topic -> (words in titles/descriptions, the profile's weight or 0)
    "python": ("Python", 3), "machine learning": ("machine learning", 2), "data": ("data engineering", 1.5),
    "rust": ("Rust", 1), "javascript": ("JavaScript", 0), "design": ("UX design", 0), "security": ("security", 0),
}
FIRST = ["Dana", "Sam", "Ravi", "Mei", "José", "Katherine", "Michael", "Priya", "Oluwaseun", "Søren", "Anna",
         "Lukas", "Fatima", "Chen", "Alexander", "Sarah", "Jörg", "Elena", "Tomás", "Aisha", "Noah", "Zoë", "Ibrahim",
         "Hana", "Mateo", "Ngozi", "Lars", "Camille", "Yuki", "Omar"]
LAST = ["Lee", "Ortiz", "Patel", "Wang", "Núñez", "Nguyen", "Angstadt", "Sharma", "Adeyemi", "Kierkegaard",
        "Berg", "Fischer", "Haddad", "Li", "Petrov", "Connor", "Müller", "Rossi", "García", "Khan", "Brown",
        "Dubois", "Said", "Tanaka", "Silva", "Okafor", "Nilsson", "Moreau", "Sato", "Farouk"]
NICK = {"Katherine": "Kate", "Michael": "Mike", "Alexander": "Alex", "Samuel": "Sam", "Sarah": "Sara"}


def variant(name: str, rng: random.Random) -> str:
    """How a feed might spell a contact: case, order, accents, nicknames, middle initials."""
    first, last = name.split(" ", 1)
    choice = rng.random()
    if choice < 0.15:
        return f"{last}, {first}"
    if choice < 0.3:
        return name.upper()
    if choice < 0.4 and first in NICK:
        return f"{NICK[first]} {last}"
    if choice < 0.5:
        return f"{first} {rng.choice('ABCDEJKM')}. {last}"
    if choice < 0.6:
        import unicodedata
        return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return name


class City:
    def __init__(self, seed: int):
        rng = self.rng = random.Random(seed)
        names = sorted({f"{f} {last}" for f in FIRST for last in LAST})
        self.people = rng.sample(names, 400)
        self.groups = []
        for i, topic in enumerate(rng.choices(list(TOPICS), k=24)):
            self.groups.append({"name": f"{TOPICS[topic][0].title()} Group {i}", "topic": topic, "id": i})
        # Each person follows one or two topics and goes to some of those topics' groups.
        interests = {p: rng.sample(list(TOPICS), rng.choice([1, 2])) for p in self.people}
        # The user's network is mostly people of the user's own field (LinkedIn is like that).
        own = [p for p in self.people if any(TOPICS[t][1] for t in interests[p])]
        other = [p for p in self.people if p not in own]
        self.contacts = sorted(set(rng.sample(own, min(len(own), 70))) | set(rng.sample(other, 20)))
        # propensity[person][group]: most 0; regulars high, occasionals low; some joined recently, some left
        self.propensity: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
        for person in self.people:
            theirs = [g["id"] for g in self.groups if g["topic"] in interests[person]]
            for g in rng.sample(theirs, min(len(theirs), rng.choice([0, 1, 1, 2, 3]))):
                level = rng.choice([0.75, 0.6, 0.45, 0.12, 0.06])
                era = rng.random()
                old, new = (level, level) if era < 0.7 else (0.0, level) if era < 0.85 else (level, 0.0)
                self.propensity[person][g] = (old, new)  # (two years ago ... now)
        self.last_contacted = {c: (NOW - timedelta(days=rng.randint(10, 500))).date() for c in sorted(self.contacts)}

    def chance(self, person: str, g: int, when: datetime) -> float:
        old, new = self.propensity[person].get(g, (0.0, 0.0))
        t = max(0.0, min(1.0, 1 - (NOW - when).days / 730))
        return old + (new - old) * t

    def feed(self, group: dict, upcoming_truth: dict) -> str:
        rng, lines = self.rng, ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//city//EN",
                                f"X-WR-CALNAME:{group['name']}"]
        words = TOPICS[group["topic"]][0]
        for k in range(-24, 3):
            when = (NOW + timedelta(days=30 * k + 7 + group["id"] % 20)).replace(hour=2, minute=0)
            lines += ["BEGIN:VEVENT", f"UID:g{group['id']}-{k}@bench", f"SUMMARY:{group['name']}: {words} night {k}",
                      f"DESCRIPTION:Talks and networking about {words}.",
                      f"DTSTART:{when:%Y%m%dT%H%M%SZ}", "DURATION:PT2H"]
            came = [p for p in self.people if rng.random() < self.chance(p, group["id"], when)]
            if when < NOW:
                listed = came
            else:
                upcoming_truth[f"g{group['id']}-{k}@bench"] = set(came)
                listed = [p for p in came if rng.random() < 0.25]  # a few early RSVPs
            for person in listed:
                shown = variant(person, rng) if person in self.contacts else person
                email = person.lower().replace(" ", ".") + "@example.org"
                lines.append(f"ATTENDEE;CN=\"{shown}\";PARTSTAT=ACCEPTED:mailto:{email}")
            lines.append("END:VEVENT")
        lines.append("END:VCALENDAR")
        return "\r\n".join(lines) + "\r\n"

    def linkedin_csv(self) -> str:
        rows = ["Notes:", '"Some emails are missing."', "", "First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
        for c in sorted(self.contacts):
            first, last = c.split(" ", 1)
            slug = c.lower().replace(" ", "-")
            rows.append(f"{first},{last},https://www.linkedin.com/in/{slug},,Acme,Engineer,"
                        f"{self.last_contacted[c]:%d %b %Y}")
        return "\n".join(rows) + "\n"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def ndcg(order: list[str], gain: dict[str, float], k: int = 10) -> float:
    dcg = sum(gain.get(e, 0) / math.log2(i + 2) for i, e in enumerate(order[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gain.values(), reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def auc(scores: list[float], labels: list[int]) -> float:
    pairs = sorted(zip(scores, labels, strict=True))
    ranks, i = [0.0] * len(pairs), 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        for t in range(i, j):
            ranks[t] = (i + j + 1) / 2
        i = j
    pos = sum(labels)
    neg = len(labels) - pos
    rank_sum = sum(r for r, (_, label) in zip(ranks, pairs, strict=True) if label)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg) if pos and neg else float("nan")


def run(seed: int, folder: Path) -> dict[str, float]:
    city = City(seed)
    truth: dict[str, set[str]] = {}
    web = folder / "web"
    web.mkdir()
    for group in city.groups:
        (web / f"g{group['id']}.ics").write_text(city.feed(group, truth), encoding="utf-8")
    (folder / "Connections.csv").write_text(city.linkedin_csv(), encoding="utf-8")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(web)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    profile_topics = {t: w for t, (_, w) in TOPICS.items() if w}
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "timezone": "America/Los_Angeles",
        "profile": {"topics": profile_topics, "contacts": ["Connections.csv"], "reconnect_after_days": 182},
        "sources": [{"name": f"g{g['id']}", "kind": "ics", "url": f"http://127.0.0.1:{port}/g{g['id']}.ics",
                     "group": g["name"]} for g in city.groups],
        "fetch": {"per_host_delay": 0, "history_days": 800},
    }))
    env = {**os.environ, "AGGREGATOR_NOW": NOW.isoformat()}
    cli = [sys.executable, "-m", "aggregator", "--config", str(folder / "config.yaml")]
    subprocess.run(cli + ["fetch"], check=True, capture_output=True, env=env)
    items = json.loads(subprocess.run(cli + ["upcoming", "--json", "--limit", "0", "--days", "75"], check=True,
                                      capture_output=True, text=True, env=env).stdout)
    httpd.shutdown()

    # Ground truth: what the person would value had they known who really comes.
    uid_of = _uids(folder)
    gain, labels, scores = {}, [], []
    topic_part, raw_social, expected = {}, _raw_rates(folder, NOW), {}
    for item in items:
        uid = uid_of[item["id"]]
        came = truth.get(uid, set()) & set(city.contacts)
        group = next(g for g in city.groups if g["name"] == item["group"])
        topic_weight = TOPICS[group["topic"]][1]
        overdue = {c: 1.5 if (NOW.date() - city.last_contacted[c]).days > 182 else 1.0 for c in came}
        gain[item["id"]] = (0.25 + topic_weight) * (1 + sum(overdue.values()))
        predicted = {c["name"]: c["probability"] for c in item["contacts"]}
        for contact in city.contacts:
            scores.append(predicted.get(contact, 0.0))
            labels.append(int(contact in came))
        topic_part[item["id"]] = 0.25 + topic_weight
        when = datetime.fromisoformat(item["start"]).astimezone(UTC)
        expected[item["id"]] = (0.25 + topic_weight) * (1 + sum(
            city.chance(c, group["id"], when) * (1.5 if (NOW.date() - city.last_contacted[c]).days > 182 else 1.0)
            for c in city.contacts))
    chronological = [i["id"] for i in sorted(items, key=lambda i: i["start"])]
    ours = [i["id"] for i in items]
    topic_only = [i["id"] for i in sorted(items, key=lambda i: (-topic_part[i["id"]], i["start"], i["id"]))]
    plain = [i["id"] for i in sorted(items, key=lambda i: (-topic_part[i["id"]] * (1 + raw_social.get(i["group"], 0)),
                                                           i["start"], i["id"]))]
    oracle = [i["id"] for i in sorted(items, key=lambda i: (-expected[i["id"]], i["id"]))]
    return {"ours": ndcg(ours, gain), "oracle": ndcg(oracle, gain), "chronological": ndcg(chronological, gain),
            "topic_only": ndcg(topic_only, gain), "plain_contacts": ndcg(plain, gain), "auc": auc(scores, labels),
            "events": len(items)}


def _uids(folder: Path) -> dict[str, str]:
    import sqlite3

    with sqlite3.connect(folder / "events.db") as db:
        return {i: u for i, u in db.execute("select id, source_uid from events")}


def _raw_rates(folder: Path, now: datetime) -> dict[str, float]:
    """Per group: the sum over contacts of (past events attended / past events with attendee lists)."""
    import sqlite3

    with sqlite3.connect(folder / "events.db") as db:
        observed = dict(db.execute(
            """select group_name, count(*) from events e where start_utc < ? and exists
               (select 1 from attendance a where a.event_id = e.id) group by group_name""",
            [now.strftime("%Y-%m-%dT%H:%M:%SZ")]))
        hits = db.execute(
            """select e.group_name, count(distinct a.event_id || '/' || a.contact_id) from attendance a
               join events e on e.id = a.event_id where a.contact_id is not null and e.start_utc < ?
               group by e.group_name""", [now.strftime("%Y-%m-%dT%H:%M:%SZ")]).fetchall()
    return {g: n / observed[g] for g, n in hits if observed.get(g)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    results = []
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory() as folder:
            r = run(seed, Path(folder))
        results.append(r)
        print(f"seed {seed}: {r['events']} events  NDCG@10 ours {r['ours']:.3f}  oracle {r['oracle']:.3f}  "
              f"chronological {r['chronological']:.3f}"
              f"  topic-only {r['topic_only']:.3f}  plain contacts {r['plain_contacts']:.3f}  contact AUC {r['auc']:.3f}")
    mean = {k: sum(r[k] for r in results) / len(results) for k in results[0]}
    print(f"mean over {len(results)} seeds: NDCG@10 ours {mean['ours']:.3f} (oracle with the true propensities "
          f"{mean['oracle']:.3f}), chronological {mean['chronological']:.3f}, "
          f"topic-only {mean['topic_only']:.3f}, plain contacts {mean['plain_contacts']:.3f}; "
          f"ours / topic-only = {mean['ours'] / mean['topic_only']:.2f}x; contact AUC {mean['auc']:.3f}")


if __name__ == "__main__":
    main()
