"""`make lint`'s template check (infra/validate_template.py): the real template.yaml passes,
and errors a deploy would hit are caught offline, whether cfn-lint sees them in the SAM
template or only in its translation to CloudFormation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsdata.core.settings import REPO_ROOT

TEMPLATE = REPO_ROOT / "template.yaml"
VALIDATOR = REPO_ROOT / "infra" / "validate_template.py"
# its own venv (Makefile TEMPLATE_VENV): aws-sam-translator's pydantic pin clashes with ours
TEMPLATE_PYTHON = REPO_ROOT / ".local" / "template-venv" / "bin" / "python"


def _validate(template: Path) -> subprocess.CompletedProcess[str]:
    if not TEMPLATE_PYTHON.exists():
        pytest.fail(f"{TEMPLATE_PYTHON} is missing: run `make deps` to install the template validators")
    return subprocess.run(
        [str(TEMPLATE_PYTHON), str(VALIDATOR), str(template)], capture_output=True, text=True, timeout=300
    )


def test_the_real_template_is_valid() -> None:
    result = _validate(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "template.yaml: valid" in result.stdout


@pytest.mark.parametrize(
    ("original", "seeded", "expected"),
    [
        # Globals reach CloudFormation only through SAM's translation
        ("Runtime: python3.12", "Runtime: python3.99", "'python3.99' is not one of"),
        ("MemorySize: 1024  # decoding", "MemorySize: 50  # decoding", "50 is less than the minimum of 128"),
        # plain CloudFormation resources: cfn-lint on the SAM template, with a line number
        ("BillingMode: PAY_PER_REQUEST", "BillingMode: PAY_PER_REQUESTS", "'PAY_PER_REQUESTS' is not one of"),
        ("- !GetAtt DataBucket.Arn", "- !GetAtt DataBuckett.Arn", "DataBuckett"),
    ],
    ids=["bad-runtime", "memory-too-small", "bad-billing-mode", "unknown-resource"],
)
def test_a_seeded_error_fails_and_is_named(tmp_path: Path, original: str, seeded: str, expected: str) -> None:
    # Given a copy of the real template with one mistake
    text = TEMPLATE.read_text()
    assert text.count(original) == 1, f"the seed {original!r} must occur once in template.yaml"
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(original, seeded))

    # When it is validated, Then it fails and the finding says what is wrong
    result = _validate(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stdout
    assert "finding(s)" in result.stderr


WORKER = """  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: opsdata.jobs.worker.handler
      Events:
        Slices:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:us-east-1:123456789012:slices
            FunctionResponseTypes: [{response_type}]

"""


def _with_worker(tmp_path: Path, response_type: str) -> Path:
    text = TEMPLATE.read_text()
    assert text.count("# ===== outputs") == 1
    path = tmp_path / "template.yaml"
    path.write_text(text.replace("# ===== outputs", WORKER.format(response_type=response_type) + "# ===== outputs"))
    return path


def test_a_function_added_to_the_template_validates_with_the_globals(tmp_path: Path) -> None:
    result = _validate(_with_worker(tmp_path, "ReportBatchItemFailures"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_typo_inside_a_function_event_is_caught_with_its_line(tmp_path: Path) -> None:
    result = _validate(_with_worker(tmp_path, "ReportBatchItemFailure"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "'ReportBatchItemFailure' is not one of ['ReportBatchItemFailures']" in result.stdout
