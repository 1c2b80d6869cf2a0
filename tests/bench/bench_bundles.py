"""Lambda bundle sizes: what `sam build` ships for each function, unzipped and zipped.

Each bundle is built by the real functions/Makefile target (as `sam build` runs it: arm64 wheels
for CPython 3.12 plus the opsdata package), then measured without `__pycache__`: the bytecode
this machine's Python writes is not what the 3.12 runtime would load.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tests.bench.framework import BenchContext, Result
from tests.support_bundles import FUNCTIONS_DIR, bundle_of, lambda_functions

LARGEST = 5  # the largest packages named per bundle
# `make build-<any function> BUNDLE=...` overrides the function's bundle: the union every function
# shipped before the split (the root requirements.txt, relative to functions/requirements/)
UNION = "../../requirements"


def _files(target: Path) -> list[Path]:
    return [f for f in target.rglob("*") if f.is_file() and "__pycache__" not in f.parts]


def _build(logical_id: str, target: Path, bundle: str | None = None) -> str | None:
    """Run functions/Makefile's build target into `target`; the error text if it failed."""
    command = ["make", "--no-print-directory", "-C", str(FUNCTIONS_DIR), f"build-{logical_id}"]
    command += [f"ARTIFACTS_DIR={target}", f"PYTHON={sys.executable}"]
    if bundle:
        command.append(f"BUNDLE={bundle}")
    result = subprocess.run(command, capture_output=True, text=True)
    return None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["make failed"])[-1]


def _by_package(target: Path, files: list[Path]) -> dict[str, int]:
    """Bytes per distribution (its files as listed in its RECORD), opsdata as one."""
    owner: dict[Path, str] = {}
    for record in target.glob("*.dist-info/RECORD"):
        name = record.parent.name.split("-")[0].lower().replace("_", "-")
        for line in record.read_text().splitlines():
            owner[(target / line.rsplit(",", 2)[0]).resolve()] = name
    sizes: dict[str, int] = {}
    for f in files:
        name = owner.get(f.resolve(), f.relative_to(target).parts[0])
        sizes[name] = sizes.get(name, 0) + f.stat().st_size
    return sizes


def _measure(label: str, functions: str, target: Path, error: str | None) -> list[object]:
    if error:
        return [label, functions, 0.0, 0.0, f"build failed (no package index?): {error}"]
    files = _files(target)
    archive = target.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for f in files:
            zipped.write(f, f.relative_to(target))
    largest = sorted(_by_package(target, files).items(), key=lambda item: -item[1])[:LARGEST]
    return [
        label,
        functions,
        sum(f.stat().st_size for f in files) / 2**20,
        archive.stat().st_size / 2**20,
        ", ".join(f"{name} {size / 2**20:.1f}" for name, size in largest),
    ]


def run(ctx: BenchContext) -> list[Result]:
    functions_of: dict[str, list[str]] = {}
    for function in lambda_functions():
        functions_of.setdefault(bundle_of(function.logical_id), []).append(function.logical_id)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for bundle, functions in sorted(functions_of.items()):
            target = Path(tmp) / bundle
            error = _build(functions[0], target)
            rows.append(_measure(f"{bundle}.txt + opsdata", ", ".join(functions), target, error))
        target = Path(tmp) / "union"
        error = _build(next(iter(functions_of.values()))[0], target, bundle=UNION)
        rows.append(_measure("before: requirements.txt (the union) + opsdata", "every function", target, error))
    return [
        Result(
            "Lambda bundles (functions/Makefile, python3.12 arm64 wheels, without bytecode)",
            ["bundle", "functions", "unzipped MB", "zipped MB", f"largest {LARGEST} (MB, unzipped)"],
            rows,
            [
                "each function ships only its bundle (template.yaml: Metadata BuildMethod makefile);"
                " Lambda's limits: 250 MB unzipped, 50 MB zipped for a direct upload",
            ],
        )
    ]
