"""`make bench`: run every benchmark section and print its table.

Each module `tests/bench/bench_<section>.py` defines `run(ctx: BenchContext) -> list[Result]`
(see tests/bench/framework.py). Sections run in name order; `--only a,b` picks some.
Speed and memory targets are measured here, never in timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from tests.bench import framework


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", help="comma-separated section names (e.g. api,affinity)")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None

    import tests.bench as package

    sections = sorted(
        name.removeprefix("bench_")
        for _, name, _ in pkgutil.iter_modules(package.__path__)
        if name.startswith("bench_")
    )
    if wanted:
        unknown = wanted - set(sections)
        if unknown:
            parser.error(f"unknown section(s): {', '.join(sorted(unknown))}; known: {', '.join(sections)}")
        sections = [s for s in sections if s in wanted]

    ctx = framework.BenchContext()
    failed = False
    for section in sections:
        module = importlib.import_module(f"tests.bench.bench_{section}")
        try:
            results = module.run(ctx)
        except Exception as exc:  # one broken section must not hide the others' figures
            framework.console.print(f"[red]section {section} failed:[/red] {type(exc).__name__}: {exc}")
            failed = True
            continue
        for result in results:
            framework.print_result(result)
            ctx.record(section, result)
    ctx.write_markdown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
