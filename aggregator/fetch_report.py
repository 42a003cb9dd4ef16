"""What a fetch run shows: the progress bar, the line per source and totals, `fetch --json`, the demo's next steps.

Read by `fetch` and `demo`; text from the sources (names, errors, warnings) goes through
`agenda.one_line` as every terminal view's does.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from aggregator.agenda import one_line, plural


class FetchProgress:
    """A progress bar on stderr while sources are fetched; nothing when not a terminal."""

    def __init__(self, console: Console, *, enabled: bool):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True, disable=not enabled)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.progress.__exit__(*exc_info)

    def start(self, specs) -> None:
        self.task = self.progress.add_task("fetching", total=len(specs))

    def done(self, report) -> None:
        self.progress.update(self.task, advance=1, description=f"fetched {report.name}")


def run_json(report) -> dict:
    """`fetch --json`."""
    return {
        "run_id": report.run_id,
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat() if report.finished else None,
        "sources": [
            {"name": s.name, "kind": s.kind, "ok": s.ok, "error": s.error, "events": s.events, "new": s.new,
             "updated": s.updated, "unchanged": s.unchanged, "removed": s.removed, "suspect": s.suspect,
             "warnings": s.warning_count,
             "seconds": round(s.seconds, 3)}
            for s in report.sources
        ],
        # outside any one source: contacts imported, the user's calendars read, and (problems) the
        # ones that make the run exit 1 though every source is ok, such as a contacts file that broke
        "notes": [one_line(n) for n in report.notes],
        "problems": [one_line(p) for p in report.problems],
    }


def print_run(out: Console, err: Console, report, *, verbose: bool) -> None:
    """A line per source (FAILED in red on a terminal), its warnings on stderr, then the totals."""
    width = max((len(s.name) for s in report.sources), default=0)
    for s in report.sources:
        if s.ok:
            removed = f", {s.removed} gone" if s.removed else ""
            out.print(Text.assemble(("ok    ", "green"), f"  {s.name:<{width}}  {s.events} events ({s.new} new, "
                                    f"{s.updated} updated{removed}) in {s.seconds:.1f}s"))
            if s.suspect:
                err.print(f"warning: {s.name}: {one_line(s.suspect)}", markup=False)
        else:
            out.print(Text.assemble(("FAILED", "bold red"), f"  {s.name:<{width}}  {one_line(s.error)}"))
        shown = s.warnings if verbose else s.warnings[:3]
        for warning in shown:
            err.print(f"warning: {s.name}: {one_line(warning)}", markup=False)
        if s.warning_count > len(shown):
            err.print(f"warning: {s.name}: {s.warning_count - len(shown)} more (run with -v to see them)",
                      markup=False)
    for note in report.notes:
        err.print(one_line(note), markup=False)
    failed = len(report.failed)
    out.print(f"{plural(len(report.sources), 'source')}: {len(report.sources) - failed} ok, {failed} failed; "
              f"{report.total('new')} new and {report.total('updated')} updated events.", markup=False)
    if report.sources and all(unreachable(s.error) for s in report.sources):
        err.print("No source could be reached: offline? `aggregator demo` tries everything offline on a "
                  "made-up city.", markup=False)


# What http.py says when it never got an answer (as opposed to an HTTP error or a bad body).
NETWORK_ERRORS = ("cannot resolve host", "connection refused", "network unreachable", "no answer from",
                  "cannot connect to", "stopped answering", "closed the connection without answering")


def unreachable(error: str | None) -> bool:
    return bool(error) and any(marker in error for marker in NETWORK_ERRORS)


def demo_next_steps(config_path) -> list[str]:
    """What to try once the demo city is fetched."""
    flag = f"--config {config_path}"
    return [
        "",
        f"The demo city is in {config_path.parent}. Try:",
        f"  aggregator {flag} upcoming            # ranked by your topics and the people likely there",
        f"  aggregator {flag} why <id>            # the full explanation of one event",
        f"  aggregator {flag} reconnect           # contacts overdue for a catch-up, and where to meet them",
        f"  aggregator {flag} plan                # the fewest evenings that see most of them",
        f"  aggregator {flag} digest              # your week in a few lines, for mail or chat",
        f"  aggregator {flag} serve               # the phone page and the iCal feed at http://127.0.0.1:8080/",
        f"To leave out --config: export AGGREGATOR_CONFIG={shlex.quote(str(Path(config_path).resolve()))}",
        "When you are ready for real events: aggregator init",
    ]
