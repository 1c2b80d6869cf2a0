"""Backup retention: 7 daily and 4 weekly, never anything that is not an opsdata backup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdata.reliability.backup import BackupError, LocalStore, backup_name, backup_time, prune, to_keep


def names_for(days: int, per_day: int = 1) -> list[str]:
    start = datetime(2026, 9, 1, 2, 30, tzinfo=UTC)
    return [backup_name(start + timedelta(days=d, hours=h)) for d in range(days) for h in range(per_day)]


def test_keeps_the_last_7_days_and_the_newest_of_the_last_4_weeks() -> None:
    # daily backups 2026-09-01 .. 2026-10-30 (a Friday); counted like restic's --keep-daily/--keep-weekly:
    # the two sets overlap, so the current and previous ISO weeks are covered by the dailies
    kept = sorted(backup_time(n).date().isoformat() for n in to_keep(names_for(60), 7, 4))
    assert kept == [
        "2026-10-11",  # Sunday: newest of the week of 5 Oct
        "2026-10-18",  # Sunday: newest of the week of 12 Oct
        *[f"2026-10-{d}" for d in range(24, 31)],  # the last 7 days
    ]


def test_several_backups_a_day_keep_only_the_newest_of_each_day() -> None:
    names = names_for(3, per_day=4)
    kept = to_keep(names, 7, 4)
    assert len(kept) == 3
    assert all(backup_time(n).hour == 5 for n in kept)  # 02:30 + 3 h


def test_prune_deletes_only_backups_outside_retention(tmp_path: Path) -> None:
    for name in names_for(20):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a backup")
    (tmp_path / "opsdata-backup-broken.tar").write_text("not a backup name either")
    deleted = prune(LocalStore(tmp_path), keep_daily=7, keep_weekly=4)
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert len(deleted) == 20 - (len(remaining) - 2)
    assert "notes.txt" in remaining and "opsdata-backup-broken.tar" in remaining
    assert max(names_for(20)) in remaining


def test_a_foreign_name_is_not_a_backup_time() -> None:
    with pytest.raises(BackupError):
        backup_time("backup.tar")
