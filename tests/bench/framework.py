"""Shared pieces for benchmark sections: the context, result tables, percentiles, machine facts."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from opsdata.core.settings import REPO_ROOT

console = Console(highlight=False, soft_wrap=True)
RESULTS_FILE = REPO_ROOT / ".local" / "bench" / "results.md"


@dataclass
class Result:
    """One printed table: a title, column names, rows, and notes shown under it."""

    title: str
    columns: list[str]
    rows: list[list[object]]
    notes: list[str] = field(default_factory=list)


@dataclass
class BenchContext:
    """State shared by sections in one `make bench` run (e.g. a loaded benchmark database)."""

    shared: dict[str, object] = field(default_factory=dict)
    recorded: list[tuple[str, Result]] = field(default_factory=list)

    def record(self, section: str, result: Result) -> None:
        self.recorded.append((section, result))

    def write_markdown(self, target: Path = RESULTS_FILE) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"Machine: {machine_summary()}", ""]
        for section, result in self.recorded:
            lines += [f"### {section}: {result.title}", ""]
            lines.append("| " + " | ".join(result.columns) + " |")
            lines.append("|" + "---|" * len(result.columns))
            lines += ["| " + " | ".join(format_cell(c) for c in row) + " |" for row in result.rows]
            lines += [""] + [f"- {note}" for note in result.notes] + [""]
        target.write_text("\n".join(lines))
        console.print(f"results written to {target}")


def format_cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_result(result: Result) -> None:
    table = Table(title=result.title)
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*(format_cell(c) for c in row))
    console.print(table)
    for note in result.notes:
        console.print(f"  {note}")


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, round(q / 100 * len(ordered) + 0.5)) - 1
    return ordered[min(rank, len(ordered) - 1)]


def machine_summary() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {system}, Python {platform.python_version()}"
