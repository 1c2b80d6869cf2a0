"""Validate the SAM template offline, as `make lint` does.

1. cfn-lint on the SAM template (it knows the SAM resource schemas).
2. aws-sam-translator turns it into plain CloudFormation, and cfn-lint checks that too: only
   the translated template shows errors inside what SAM generates (a bad Runtime, a mistyped
   event property, a broken intrinsic function).

Needs no AWS account, credentials or network: managed policies are resolved by a stub, the
region is fixed, and local CodeUri folders are replaced by a placeholder S3 object. While the
template has no function, a probe function carries the Globals through the translation.

Runs in its own virtualenv (Makefile: TEMPLATE_VENV, requirements-template.txt), because
aws-sam-translator pins a pydantic older than the one the functions ship.

Usage: python infra/validate_template.py [TEMPLATE]   (default: template.yaml)
Exit status: 0 clean, 1 findings (each printed with its rule and location), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

# samtranslator builds ARNs from the session's region; set it before anything imports boto3.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cfnlint.api import lint, lint_file
from cfnlint.config import ManualArgs
from cfnlint.decode.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

PLACEHOLDER_CODE = "s3://placeholder/code.zip"
GLOBALS_PROBE = "GlobalsProbe"
# Properties holding a local path that `sam build`/`sam package` would upload.
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class OfflinePolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which lists AWS managed policies via IAM.

    Templates reference managed policies by ARN (or SAM policy templates), so nothing needs
    looking up; a name that would need IAM fails the translation with SAM's own message.
    """

    def load(self) -> dict[str, str]:
        return {}


def _with_placeholder_code(template: dict[str, Any]) -> dict[str, Any]:
    """The template with local code paths replaced, as `sam package` would after uploading."""
    function_globals = template.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = PLACEHOLDER_CODE
    for resource in template.get("Resources", {}).values():
        prop = CODE_PROPERTIES.get(resource.get("Type"))
        properties = resource.get("Properties", {})
        if prop and isinstance(properties.get(prop), str) and not properties[prop].startswith("s3://"):
            properties[prop] = PLACEHOLDER_CODE
    return template


def _with_globals_probe(template: dict[str, Any]) -> dict[str, Any]:
    """Add a probe function when the template has none, so that Globals are translated and linted.

    SAM applies Globals only to functions; without one, a bad Runtime in Globals would never
    be checked, and parameters used only by Globals would look unused.
    """
    resources = template.setdefault("Resources", {})
    if "Function" in template.get("Globals", {}) and not any(
        r.get("Type") == "AWS::Serverless::Function" for r in resources.values()
    ):
        resources[GLOBALS_PROBE] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "probe.handler", "CodeUri": PLACEHOLDER_CODE},
        }
    return template


def _format(match: Any, where: str) -> str:
    location = f"{where}:{match.linenumber}:{match.columnnumber}" if where.endswith((".yaml", ".yml")) else where
    path = "/".join(str(p) for p in getattr(match, "path", []) or [])
    path = path.replace(f"Resources/{GLOBALS_PROBE}/Properties", "Globals/Function")
    suffix = f" (at {path})" if path and not where.endswith((".yaml", ".yml")) else ""
    return f"{location}: {match.rule.id} {match.message}{suffix}"


def translate(template_path: Path) -> dict[str, Any]:
    """The SAM template as CloudFormation; raises InvalidDocumentException with SAM's reasons."""
    decoded, errors = decode(str(template_path))
    if errors or decoded is None:
        raise ValueError("; ".join(str(e) for e in errors) or f"{template_path}: empty template")
    plain = json.loads(json.dumps(decoded))  # cfn-lint's decoded nodes carry marks; use plain data
    return transform(_with_globals_probe(_with_placeholder_code(plain)), {}, OfflinePolicyLoader())  # type: ignore[arg-type]


def validate(template_path: Path) -> list[str]:
    """Every finding, as printable lines; empty when the template is clean."""
    findings = [_format(m, str(template_path)) for m in lint_file(template_path, ManualArgs())]
    if findings:  # translating a template cfn-lint rejects only repeats the same problems
        return findings
    try:
        translated = translate(template_path)
    except InvalidDocumentException as exc:
        return [f"{template_path}: SAM translation failed: {cause.message}" for cause in exc.causes]
    except ValueError as exc:
        return [f"{template_path}: SAM translation failed: {exc}"]
    where = f"{template_path} (translated to CloudFormation)"
    return [_format(m, where) for m in lint(json.dumps(translated))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", type=Path, default=Path("template.yaml"))
    args = parser.parse_args(argv)
    if not args.template.is_file():
        print(f"{args.template}: no such file", file=sys.stderr)
        return 2
    findings = validate(args.template)
    for line in findings:
        print(line)
    if findings:
        print(f"{args.template}: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"{args.template}: valid (cfn-lint on SAM, SAM translation, cfn-lint on CloudFormation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
