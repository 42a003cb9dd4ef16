"""`aggregator restore` (issue 22), end to end through the CLI: damage -> every command's one line ->
restore -> commands work -> the damaged file kept aside; refused while a fetch or a server holds the
database; the newest backup that passes integrity_check is the default."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

from aggregator.pipeline import fetch_lock
from aggregator.store import backup as safety
from tests import backup_world
from tests.backup_world import one_line_error, table_pages, zero_middle, zero_pages

demo_city, world = backup_world.demo_city, backup_world.world  # the fixtures


def touches(database) -> set[tuple]:
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        return set(conn.execute("select contact_id, on_date from touches"))


def test_damage_then_restore_then_everything_works_and_the_old_file_is_kept(world):
    logged = touches(world.database)
    newest = world.backups[-1]
    zero_middle(world.database)
    world.cli("fetch")  # meets the damage or finds it with its check
    for command in ("upcoming", "sources", "contacts list"):
        line = one_line_error(world.cli(*command.split()), world.database)
        assert str(newest) in line
    damaged = world.database.read_bytes()
    result = world.cli("restore")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith(f"restored {world.database} from {newest} (made ")
    kept = sorted(world.folder.glob("events.db.replaced-*"))
    assert len(kept) == 1 and f"the replaced file is kept as {kept[0]}" in out[1]
    assert kept[0].read_bytes() == damaged  # kept, byte for byte
    assert not safety.damage_marker(world.database).exists()
    events = json.loads(world.ok("upcoming", "--json"))
    assert len(events) >= 5 and any(e["contacts"] for e in events)
    assert touches(world.database) == logged  # your catch-ups are back
    assert safety.check(world.database) is None
    world.ok("fetch")
    world.ok("contacts", "list")


def test_the_newest_backup_that_passes_the_check_is_the_default(world):
    older, newest = world.backups[-2:]
    zero_pages(newest, table_pages(newest, "contacts"))  # a backup damaged on disk later
    result = world.cli("restore", "--yes")
    assert result.returncode == 0, result.stderr
    assert f"warning: skipped {newest}:" in result.stderr
    assert result.stdout.startswith(f"restored {world.database} from {older} ")
    assert newest.exists()  # a damaged backup is named, never deleted


def test_a_backup_named_on_the_command_line(world):
    first = world.backups[0]
    result = world.cli("restore", first.name)  # a name in the backups folder is enough
    assert result.returncode == 0, result.stderr
    assert f"from {first} " in result.stdout
    missing = world.cli("restore", "no-such-backup.db")
    assert missing.returncode == 2 and "no-such-backup.db does not exist" in missing.stderr
    other = world.folder / "other.db"
    with closing(sqlite3.connect(other, isolation_level=None)) as conn:
        conn.execute("create table t (x)")
    refused = world.cli("restore", str(other))
    assert refused.returncode == 1 and "not an aggregator database" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_no_good_backup_is_a_clear_error(world):
    for path in world.backups:
        path.write_bytes(b"not a database at all")
    result = world.cli("restore")
    assert result.returncode == 1
    assert "no good backup in" in result.stderr and "file is not a database" in result.stderr
    assert safety.check(world.database) is None  # the database is left as it was


def test_refused_while_a_fetch_holds_the_lock(world):
    before = world.database.read_bytes()
    with fetch_lock(world.database.with_name("events.db.lock")):
        result = world.cli("restore")
    assert result.returncode == 1
    assert "another fetch is running (pid" in result.stderr
    assert world.database.read_bytes() == before
    assert not list(world.folder.glob("events.db.replaced-*"))


def test_refused_while_the_server_has_the_database_open(world):
    server = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(world.config), "serve", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Serving on" in server.stdout.readline()
        result = world.cli("restore")
        assert result.returncode == 1
        assert f"is open in another aggregator process (process {server.pid})" in result.stderr
        assert "stop `aggregator serve`" in result.stderr
        assert not list(world.folder.glob("events.db.replaced-*"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    world.ok("restore")


def test_the_wal_and_shm_go_aside_with_the_file_they_belong_to(world):
    """A database left by a killed process has its last commits in -wal: they move aside together,
    so the kept file still opens with them."""
    script = ("import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('pragma wal_autocheckpoint = 0'); "
              "c.execute(\"insert into touches (contact_id, on_date, logged_at) values (3, '2026-11-30', 'x')\"); "
              "c.commit(); os._exit(0)")
    subprocess.run([sys.executable, "-c", script, str(world.database)], check=True)
    assert (world.folder / "events.db-wal").exists()
    result = world.cli("restore")
    assert result.returncode == 0, result.stderr
    kept = world.folder / result.stdout.splitlines()[1].split("kept as ")[1].split(" ")[0]
    assert os.path.exists(f"{kept}-wal") and "-wal" in result.stdout
    assert not (world.folder / "events.db-wal").exists() or (world.folder / "events.db-wal").stat().st_size == 0
    assert (3, "2026-11-30") in touches(kept)  # the last commit, read from the kept -wal
    assert (3, "2026-11-30") not in touches(world.database)


def test_two_restores_keep_both_replaced_files(world):
    world.ok("restore")
    time.sleep(0.01)
    world.ok("restore")
    assert len([p for p in world.folder.glob("events.db.replaced-*") if not p.name.endswith(("-wal", "-shm"))]) == 2


def test_a_restore_killed_before_its_last_rename_leaves_a_database_in_place(world, monkeypatch):
    """The kill lands just before the copy takes the database's name: the old file is still there
    (and under its kept-aside name too), never a missing database that a new empty one would replace."""
    from aggregator import backup as core
    from aggregator import config

    before = touches(world.database)
    real_replace = os.replace

    def killed(source, target):
        if str(source).endswith(".restoring"):
            raise KeyboardInterrupt  # what a kill at this moment leaves behind
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", killed)
    try:
        core.restore(config.load(world.config), None)
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(os, "replace", real_replace)
    assert touches(world.database) == before and safety.check(world.database) is None
    assert [p.name for p in world.folder.glob("events.db.replaced-*")]
    world.ok("restore")  # run again, it completes


def run_on_terminal(world, *args: str, answer: bytes) -> tuple[int, str]:
    """The CLI with a terminal as stdin and stdout (a pty); `answer` is typed at the prompt."""
    import pty
    import select

    from tests.conftest import NOW

    leader, follower = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}, "AGGREGATOR_NOW": NOW.isoformat()}
    process = subprocess.Popen([sys.executable, "-m", "aggregator", "--config", str(world.config), *args],
                               stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(leader, answer)
            answered = True
        if process.poll() is not None and not ready:
            break
    process.wait(timeout=30)
    os.close(leader)
    return process.returncode, seen.decode(errors="replace")


def test_on_a_terminal_restore_asks_first(world):
    before = world.database.read_bytes()
    code, text = run_on_terminal(world, "restore", answer=b"n\n")
    assert f"Replace {world.database} by {world.backups[-1]}?" in text.replace("\r\n", "")
    assert code == 1 and "nothing changed" in text
    assert world.database.read_bytes() == before
    code, text = run_on_terminal(world, "restore", answer=b"y\n")
    assert code == 0 and "restored" in text


def test_a_command_that_starts_during_a_restore_waits_for_it(tmp_path):
    import threading

    from aggregator.store import Store

    database = tmp_path / "events.db"
    Store(database).close()
    opened = []
    with safety.exclusive(database):
        opener = threading.Thread(target=lambda: opened.append(Store(database)))
        opener.start()
        time.sleep(0.5)
        assert not opened  # waiting while the file is being replaced
    opener.join(timeout=10)
    assert opened
    opened[0].close()
