"""`aggregator export` (issue 22): your own data as JSON, every column of every table a fetch cannot
rebuild (so columns and tables added later come along), read back against the database itself."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from aggregator.store import userdata
from tests import backup_world
from tests.backup_world import table_pages, zero_pages
from tests.conftest import Cli

demo_city, world = backup_world.demo_city, backup_world.world  # the fixtures


def rows(database, sql: str) -> list[dict]:
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


def decoded(row: dict) -> dict:
    """A stored row as the export gives it: JSON lists as lists."""
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and value.startswith("["):
            value = json.loads(value)
        out[key] = value
    return out


def test_export_round_trips_your_data(world):
    out = world.folder / "mine.json"
    result = world.cli("export", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}:" in result.stderr and "10 contacts" in result.stderr
    document = json.loads(out.read_text())
    assert document["format"] == 1 and document["schema_version"] >= 8
    tables = document["tables"]
    contacts = rows(world.database, "select * from contacts order by id")
    assert tables["contacts"] == [decoded(c) for c in contacts]  # every column, every contact
    dana = next(c for c in tables["contacts"] if c["name"] == "Dana Lee")
    assert dana["emails"] == ["dana.lee@example.org"] and dana["urls"] and "weight" in dana and "cadence_days" in dana
    assert tables["touches"] == rows(world.database, "select * from touches order by id")
    assert any(t["contact_id"] == dana["id"] and t["on_date"] == "2026-11-20" for t in tables["touches"])
    event_id, title = world.past_event()
    assert [m["event_id"] for m in tables["my_events"]] == [event_id]
    met = [a for a in tables["attendance"] if a["event_id"] == event_id]
    assert [a["name"] for a in met] == ["Samuel Ortiz"] and met[0]["evidence"] == "manual"
    assert all(a["evidence"] == "manual" for a in tables["attendance"])  # what the sources listed is not yours
    assert document["events"][event_id]["title"] == title  # readable without the database
    assert "calendar_log" in tables
    for rebuilt in ("events", "sources", "http_cache", "fetch_runs", "meta", "rank_group_slots", "events_fts"):
        assert rebuilt not in tables


def test_export_goes_to_stdout_and_reads_a_backup_without_a_config(world):
    printed = json.loads(world.ok("export"))
    assert printed["tables"]["contacts"]
    result = Cli(None, cwd=world.folder)("export", "--from", str(world.backups[-1]))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"]["touches"] == printed["tables"]["touches"]


def test_merges_removals_and_name_variants_come_along(world):
    """What `contacts merge` and `contacts remove` keep (schema v9) is the user's own: exported."""
    listed = {c["name"]: c for c in json.loads(world.ok("contacts", "list", "--json"))}
    kept, merged, removed = (listed[n]["id"] for n in ("Dana Lee", "Tom Becker", "Lena Fischer"))
    world.ok("contacts", "merge", str(kept), str(merged))
    world.ok("contacts", "remove", str(removed))
    tables = json.loads(world.ok("export"))["tables"]
    assert [(m["merged_id"], m["into_id"], m["name"]) for m in tables["contact_merges"]] == \
        [(merged, kept, "Tom Becker")]
    assert any(r["name"] == "Lena Fischer" for r in tables["contacts_removed"])
    assert not any(c["name"] == "Lena Fischer" for c in tables["contacts"])


def test_columns_and_tables_added_later_come_along(world):
    """A later change adds a column and a table: the export needs no change to carry them."""
    with closing(sqlite3.connect(world.database, isolation_level=None)) as conn:
        conn.execute("alter table contacts add column nickname text")
        conn.execute("update contacts set nickname = 'DL' where name = 'Dana Lee'")
        conn.execute("create table contact_notes (contact_id integer, note text, tags text)")
        conn.execute("insert into contact_notes values (1, 'met at PyCon', '[\"python\"]')")
    tables = json.loads(world.ok("export"))["tables"]
    assert next(c for c in tables["contacts"] if c["name"] == "Dana Lee")["nickname"] == "DL"
    assert all("nickname" in c for c in tables["contacts"])
    assert tables["contact_notes"] == [{"contact_id": 1, "note": "met at PyCon", "tags": ["python"]}]


def test_a_text_column_is_decoded_only_when_every_value_is_a_json_list():
    assert userdata._json_lists(['["a"]', None, "[]"]) == [["a"], None, []]
    assert userdata._json_lists(['["a"]', "[draft] notes"]) is None  # one value is plain text: all stay text
    assert userdata._json_lists(["[1"]) is None


def test_a_damaged_database_gives_what_can_be_read(world):
    zero_pages(world.database, table_pages(world.database, "touches"))
    result = world.cli("export")
    assert result.returncode == 1
    assert "error: table touches cannot be read: database disk image is malformed" in result.stderr
    assert "Traceback" not in result.stderr
    tables = json.loads(result.stdout)["tables"]
    assert "touches" not in tables and len(tables["contacts"]) == 10
