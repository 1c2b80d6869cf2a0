"""Action status changes: only through the checked RPC, only by operators and admins."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from support import acting_as, add_member, make_shop, make_user


def _propose(conn: psycopg.Connection, shop_id: uuid.UUID) -> uuid.UUID:
    row = conn.execute(
        "insert into public.actions (shop_id, recommender, action_type, target_kind, target_ref)"
        " values (%s, 'seo_titles', 'rewrite_title', 'page', '/products/mug') returning id",
        (shop_id,),
    ).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def shop_with_proposal(db: psycopg.Connection) -> dict[str, uuid.UUID]:
    shop = make_shop(db)
    people = {"shop": shop, "action": _propose(db, shop)}
    for role in ("viewer", "operator", "admin"):
        people[role] = make_user(db)
        add_member(db, shop, people[role], role)
    people["stranger"] = make_user(db)
    return people


def _set_status(conn: psycopg.Connection, action: uuid.UUID, status: str, note: str | None = None) -> dict:
    row = conn.execute(
        "select status, decided_by, decision_note, decided_at, executed_at"
        " from public.set_action_status(p_action_id => %s, p_status => %s, p_note => %s)",
        (action, status, note),
    ).fetchone()
    assert row is not None
    return dict(zip(("status", "decided_by", "decision_note", "decided_at", "executed_at"), row, strict=True))


def test_an_operator_approves_and_the_decision_is_recorded(db: psycopg.Connection, shop_with_proposal: dict) -> None:
    with acting_as(db, "authenticated", shop_with_proposal["operator"]):
        result = _set_status(db, shop_with_proposal["action"], "approved", "looks right")
    assert result["status"] == "approved"
    assert result["decided_by"] == shop_with_proposal["operator"]
    assert result["decision_note"] == "looks right"
    assert result["decided_at"] is not None and result["executed_at"] is None


def test_a_viewer_cannot_decide(db: psycopg.Connection, shop_with_proposal: dict) -> None:
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="operator or admin"),
        acting_as(db, "authenticated", shop_with_proposal["viewer"]),
    ):
        _set_status(db, shop_with_proposal["action"], "approved")


def test_a_stranger_is_told_the_action_does_not_exist(db: psycopg.Connection, shop_with_proposal: dict) -> None:
    with (
        pytest.raises(psycopg.Error) as failure,
        acting_as(db, "authenticated", shop_with_proposal["stranger"]),
    ):
        _set_status(db, shop_with_proposal["action"], "approved")
    assert failure.value.diag.sqlstate == "OD002"


def test_app_users_cannot_update_actions_directly(db: psycopg.Connection, shop_with_proposal: dict) -> None:
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        acting_as(db, "authenticated", shop_with_proposal["admin"]),
    ):
        db.execute("update public.actions set status = 'approved' where id = %s", (shop_with_proposal["action"],))


def test_anon_cannot_call_the_rpc(db: psycopg.Connection, shop_with_proposal: dict) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "anon"):
        _set_status(db, shop_with_proposal["action"], "approved")


@pytest.mark.parametrize(
    ("path", "forbidden"),
    [
        (["rejected"], "executed"),
        (["approved", "executed"], "approved"),
        (["approved", "executed", "reverted"], "executed"),
        ([], "reverted"),
    ],
)
def test_transitions_outside_the_lifecycle_are_refused(
    db: psycopg.Connection, shop_with_proposal: dict, path: list[str], forbidden: str
) -> None:
    with acting_as(db, "authenticated", shop_with_proposal["admin"]):
        for status in path:
            _set_status(db, shop_with_proposal["action"], status)
    with pytest.raises(psycopg.Error) as failure, acting_as(db, "authenticated", shop_with_proposal["admin"]):
        _set_status(db, shop_with_proposal["action"], forbidden)
    assert failure.value.diag.sqlstate == "OD001"


def test_an_unknown_status_is_a_clear_error(db: psycopg.Connection, shop_with_proposal: dict) -> None:
    with (
        pytest.raises(psycopg.Error, match="status must be one of") as failure,
        acting_as(db, "authenticated", shop_with_proposal["admin"]),
    ):
        _set_status(db, shop_with_proposal["action"], "done")
    assert failure.value.diag.sqlstate == "OD003"


def test_an_executor_marks_an_approved_action_executed_then_reverted(
    db: psycopg.Connection, shop_with_proposal: dict
) -> None:
    with acting_as(db, "authenticated", shop_with_proposal["operator"]):
        _set_status(db, shop_with_proposal["action"], "approved")
    with acting_as(db, "service_role"):
        executed = _set_status(db, shop_with_proposal["action"], "executed")
        assert executed["executed_at"] is not None
        assert executed["decided_by"] == shop_with_proposal["operator"], "execution keeps who decided"
        assert _set_status(db, shop_with_proposal["action"], "reverted")["status"] == "reverted"
