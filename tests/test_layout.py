"""The code stays readable in one sitting (STYLE.md): no module under aggregator/ or sources/ over 500 lines."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500


def test_every_module_is_at_most_500_lines():
    modules = sorted(p for folder in ("aggregator", "sources") for p in (ROOT / folder).rglob("*.py"))
    assert len(modules) > 50 and ROOT / "aggregator" / "store" / "events.py" in modules  # subpackages are walked
    lengths = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in modules}
    over = {name: lines for name, lines in lengths.items() if lines > MAX_LINES}
    assert over == {}, f"modules over {MAX_LINES} lines: split each along a seam (README's code map names the parts)"
