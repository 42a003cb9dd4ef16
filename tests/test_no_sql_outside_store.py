"""Issue 19: no module outside aggregator/store/ runs SQL. The store's repositories own every query
(the ranking's too: store.rank_cache); the rest of the code reads values."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"^\s*(select|insert|update|delete|create|drop|alter|with|pragma|replace|begin|explain)\b",
                 re.IGNORECASE)
RUNS = {"execute", "executemany", "executescript"}


def sql_in(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each `.execute(`-like call, and each SQL-looking string literal passed to a call."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in RUNS:
            found.append((node.lineno, f".{node.func.attr}("))
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            texts = [arg.value] if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else [
                v.value for v in getattr(arg, "values", ()) if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            if any(SQL.match(text) and re.search(r"\b(from|into|table|set|values|index)\b", text, re.I)
                   for text in texts[:1]):
                found.append((node.lineno, "an SQL string passed to a call"))
    return found


def test_no_module_outside_the_store_runs_sql():
    outside = [p for folder in ("aggregator", "sources") for p in (ROOT / folder).rglob("*.py")
               if "store" not in p.relative_to(ROOT).parts[1:2]]
    assert len(outside) > 40
    offenders = {str(p.relative_to(ROOT)): hits for p in outside
                 if (hits := sql_in(ast.parse(p.read_text(encoding="utf-8"))))}
    assert offenders == {}


def test_the_check_finds_sql():
    """The walk would catch each way SQL was run outside the store before (snapshot.py, coldstart.load)."""
    code = '''
conn.execute("select 1")
rows = db.executemany(f"insert into t values (?)", rows)
run(conn, """select g, contact_id from rank_contact_groups where g = ?""")
print("select a source to fetch")
'''
    assert sorted({line for line, _ in sql_in(ast.parse(code))}) == [2, 3, 4]
