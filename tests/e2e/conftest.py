"""Browser tests: Debian's Chromium (installed here if missing) driven by Playwright.

Playwright's own browser downloads are never used (`playwright install` cannot work on these
machines): Playwright drives /usr/bin/chromium through `executable_path`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsdata.core.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# no background traffic: this machine's network is closed, and a test must not depend on one
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "tests" / "e2e" / "artifacts"


def ensure_chromium() -> Path:
    """Debian's chromium package, installed with the project's apt helper when it is missing."""
    if not CHROMIUM.exists():
        result = subprocess.run(
            ["bash", str(REPO_ROOT / "infra" / "local" / "install-system-deps.sh"), "chromium"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(f"Chromium is needed for the browser tests and could not be installed: {result.stderr[-2000:]}")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests leave screenshots (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
