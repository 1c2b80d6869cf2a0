"""The Lambda functions in template.yaml and the bundle functions/Makefile builds each with
(for tests/integration/infra/test_lambda_bundles.py and `make bench`'s bundle sizes)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import yaml

from opsdata.core.settings import REPO_ROOT

FUNCTIONS_DIR = REPO_ROOT / "functions"


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler_module: str
    build_method: str | None


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...), read as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, _suffix, node: None)


def lambda_functions() -> list[Function]:
    template = yaml.load((REPO_ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 (SafeLoader)
    return [
        Function(
            logical_id,
            resource["Properties"]["Handler"].rpartition(".")[0],
            (resource.get("Metadata") or {}).get("BuildMethod"),
        )
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]


def bundle_of(logical_id: str) -> str:
    """The requirements file functions/Makefile installs for the function, as `sam build` runs it."""
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(FUNCTIONS_DIR), f"build-{logical_id}", "ARTIFACTS_DIR=/out"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r"-r requirements/(\w+)\.txt", plan)
    assert len(found) == 1, f"functions/Makefile build-{logical_id} installs no single bundle:\n{plan}"
    return found[0]
