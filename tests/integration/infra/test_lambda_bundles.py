"""Each Lambda function ships only its own bundle (functions/requirements/<bundle>.txt, built by
functions/Makefile): whatever its handler imports must be in that bundle, its dependencies, or the
Lambda runtime (boto3). Checked without installing anything, in two ways:
- importing the handler in a fresh interpreter whose import system refuses every third-party
  package outside the bundle (what the function really imports when it starts);
- reading the source of every opsdata module the handler can reach, so that an import done
  lazily inside a function (PIL on first use, say) counts too.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from opsdata.core.settings import REPO_ROOT
from support_bundles import FUNCTIONS_DIR, Function, bundle_of, lambda_functions

REQUIREMENTS_DIR = FUNCTIONS_DIR / "requirements"
# What the python3.12 Lambda runtime provides: boto3 and its dependencies.
RUNTIME_PROVIDED = ["boto3"]
# pip's environment markers for the functions' platform
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def bundle_requirements(path: Path) -> list[Requirement]:
    """The requirements of a bundle file, following -r includes (-c constraints pin, add nothing)."""
    found: list[Requirement] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-c "):
            continue
        if line.startswith("-r "):
            found += bundle_requirements(path.parent / line.removeprefix("-r ").strip())
        else:
            found.append(Requirement(line))
    return found


def distribution_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions pip installs for these requirements on the Lambda platform (canonical names)."""
    seen: set[str] = set()
    todo = [(r.name, frozenset(r.extras)) for r in requirements]
    while todo:
        name, extras = todo.pop()
        seen.add(_canonical(name))
        for spec in metadata.distribution(name).requires or []:
            dep = Requirement(spec)
            applies = dep.marker is None or any(
                dep.marker.evaluate({**LAMBDA_MARKERS, "extra": extra}) for extra in (extras or {""})
            )
            if applies and _canonical(dep.name) not in seen:
                todo.append((dep.name, frozenset(dep.extras)))
    return seen


@cache
def import_owners() -> dict[str, set[str]]:
    """Top-level import name -> the distributions installed here that provide it (canonical names)."""
    return {name: {_canonical(d) for d in dists} for name, dists in metadata.packages_distributions().items()}


def allowed_imports(bundle: str) -> set[str]:
    """Third-party top-level import names the bundle (with its dependencies) or the runtime provides."""
    dists = distribution_closure(bundle_requirements(REQUIREMENTS_DIR / f"{bundle}.txt"))
    dists |= distribution_closure([Requirement(name) for name in RUNTIME_PROVIDED])
    return {name for name, owners in import_owners().items() if owners & dists}


def third_party(name: str) -> bool:
    return name in import_owners() and name != "opsdata"


# --- what the handler imports when the function starts ----------------------------------------

IMPORT_PROBE = """
import importlib, json, sys

allowed, forbidden, module = set(json.loads(sys.argv[1])), set(json.loads(sys.argv[2])), sys.argv[3]
refused = []

class OutsideTheBundle:
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in forbidden and top not in allowed:
            refused.append(top)
            raise ModuleNotFoundError(f"{top} is not in the function's bundle", name=top)
        return None

sys.meta_path.insert(0, OutsideTheBundle())
try:
    importlib.import_module(module)
finally:
    print(json.dumps(sorted(set(refused))))
"""


def import_under_bundle(module: str, bundle: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Import `module` in a fresh interpreter that refuses third-party packages outside `bundle`."""
    allowed = allowed_imports(bundle)
    forbidden = sorted(name for name in import_owners() if third_party(name))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(REPO_ROOT),
        # settings as on Lambda; no database answers here (the API's warm-up connection just fails)
        "DATABASE_URL": "postgresql://opsdata@127.0.0.1:9/none?connect_timeout=1",
        "SUPABASE_URL": "https://example.supabase.co",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "opsdata",
        "OPSDATA_BUCKET": "bucket",
        "IDEMPOTENCY_TABLE": "table",
    }
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, json.dumps(sorted(allowed)), json.dumps(forbidden), module],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    lines = result.stdout.strip().splitlines()
    return result, json.loads(lines[-1]) if lines else []


# --- what any opsdata module the handler reaches imports, also inside functions ---------------


def _module_file(module: str) -> Path | None:
    base = FUNCTIONS_DIR.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def reachable_imports(module: str) -> dict[str, str]:
    """Third-party top-level names imported by the opsdata modules `module` can reach -> one importer."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        path = _module_file(current)
        if current in seen or path is None:
            continue
        seen.add(current)
        parts = current.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a module imports its packages
        package = current if path.name == "__init__.py" else current.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top == "opsdata":
                    todo.append(name)
                elif third_party(top):
                    found.setdefault(top, current)
    return found


# --- the tests ---------------------------------------------------------------------------------

FUNCTIONS = lambda_functions()


def test_every_function_is_built_with_its_own_bundle() -> None:
    assert len(FUNCTIONS) >= 6
    for function in FUNCTIONS:
        assert function.build_method == "makefile", f"{function.logical_id}: sam build would install the union"
        assert (REQUIREMENTS_DIR / f"{bundle_of(function.logical_id)}.txt").is_file()


def test_the_api_bundle_leaves_out_what_only_the_etl_needs() -> None:
    api = allowed_imports(bundle_of("ApiFunction"))
    assert {"starlette", "mangum", "jwt", "psycopg"} <= api
    assert not {"PIL", "ijson", "phonenumbers", "httpx"} & api
    etl = allowed_imports(bundle_of("ChatwootSliceWorkerFunction"))
    assert {"PIL", "ijson", "phonenumbers", "httpx"} <= etl
    assert not {"starlette", "mangum", "jwt", "cryptography"} & etl


def test_versions_are_pinned_once_for_every_bundle() -> None:
    pins = {
        _canonical(Requirement(line.split("#", 1)[0]).name): line
        for line in (REQUIREMENTS_DIR / "constraints.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    }
    named: set[str] = set()
    for bundle in sorted(REQUIREMENTS_DIR.glob("*.txt")):
        if bundle.name == "constraints.txt":
            continue
        assert "-c constraints.txt" in bundle.read_text() or "-r base.txt" in bundle.read_text(), bundle.name
        for requirement in bundle_requirements(bundle):
            assert not requirement.specifier, f"{bundle.name}: pin {requirement.name} in constraints.txt only"
            assert _canonical(requirement.name) in pins, f"{bundle.name}: {requirement.name} is not pinned"
            named.add(_canonical(requirement.name))
    assert named == set(pins), f"pinned but in no bundle: {set(pins) - named}"
    # the dev venv installs the union, at the same pins
    union = {_canonical(r.name) for r in bundle_requirements(REPO_ROOT / "requirements.txt")}
    assert union == named
    for name, line in pins.items():
        assert metadata.version(name) == line.split("==")[1].split()[0], f"the dev venv has another {name}"


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.logical_id)
def test_the_handler_imports_nothing_outside_its_bundle(function: Function) -> None:
    bundle = bundle_of(function.logical_id)
    result, refused = import_under_bundle(function.handler_module, bundle)
    # A refusal the importer handles is fine: httpx, say, offers its command line only with click.
    assert result.returncode == 0, f"{function.logical_id} ({bundle}.txt) needs {refused}:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.logical_id)
def test_lazy_imports_of_the_handler_are_in_its_bundle_too(function: Function) -> None:
    bundle = bundle_of(function.logical_id)
    missing = {
        name: importer
        for name, importer in reachable_imports(function.handler_module).items()
        if name not in allowed_imports(bundle)
    }
    assert not missing, f"{function.logical_id} ({bundle}.txt) lacks: {missing} (name: imported by)"


def test_a_package_outside_the_bundle_is_caught() -> None:
    # The attachment worker needs Pillow and httpx; checked against the API's bundle, both checks fail.
    worker = next(f for f in FUNCTIONS if f.logical_id == "AttachmentWorkerFunction")
    result, refused = import_under_bundle(worker.handler_module, "api")
    assert result.returncode != 0
    assert refused and set(refused) <= {"PIL", "httpx", "httpcore", "ijson", "phonenumbers"}
    assert "is not in the function's bundle" in result.stderr
    lacking = set(reachable_imports(worker.handler_module)) - allowed_imports("api")
    assert {"PIL", "httpx"} <= lacking
