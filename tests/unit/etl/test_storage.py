"""The local content-addressed store: one file per distinct content, nothing half-written."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opsdata.etl.chatwoot.storage import LocalStore, S3Store, StoreError, open_store


def test_put_stores_by_sha256_once(tmp_path: Path):
    store = LocalStore(tmp_path)
    data = b"\x89PNG fake bytes"
    digest = hashlib.sha256(data).hexdigest()

    first = store.put(data, extension="png", content_type="image/png")
    again = store.put(data, extension=".PNG", content_type="image/png")

    assert (first.path, first.sha256, first.created) == (f"images/{digest}.png", digest, True)
    assert (again.path, again.created) == (first.path, False)
    assert (tmp_path / first.path).read_bytes() == data
    assert store.exists(first.path) and store.get(first.path) == data
    assert list(store.list()) == [first.path]


def test_concurrent_writers_of_the_same_bytes_store_one_file_and_agree_who_created_it(tmp_path: Path):
    store = LocalStore(tmp_path)
    data = bytes(range(256)) * 1000

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.put(data, extension="jpg", content_type="image/jpeg"), range(16)))

    assert [r.created for r in results].count(True) == 1
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{results[0].sha256}.jpg"]  # no temp files


def test_list_filters_by_prefix_and_skips_temporary_files(tmp_path: Path):
    store = LocalStore(tmp_path)
    image = store.put(b"a", extension="gif", content_type="image/gif")
    other = store.put(b"b", extension="json", content_type="application/json", folder="outcomes")
    (tmp_path / "images" / ".tmp-abandoned").write_bytes(b"half")

    assert list(store.list("images/")) == [image.path]
    assert sorted(store.list()) == sorted([image.path, other.path])
    assert list(LocalStore(tmp_path / "missing").list()) == []


@pytest.mark.parametrize("path", ["../outside.png", "/etc/passwd", "images/../../x", "", "images//x", "a\\b"])
def test_paths_cannot_leave_the_store(tmp_path: Path, path: str):
    with pytest.raises(StoreError, match="is not a plain relative path"):
        LocalStore(tmp_path).get(path)


def test_get_of_a_missing_path_names_it(tmp_path: Path):
    with pytest.raises(StoreError, match=r"images/nope\.png is not in"):
        LocalStore(tmp_path).get("images/nope.png")


def test_open_store_reads_directories_and_s3_urls(tmp_path: Path):
    local = open_store(str(tmp_path / "out"))
    s3 = open_store("s3://media-bucket/chatwoot/images-v1/")
    bare = open_store("s3://media-bucket")

    assert isinstance(local, LocalStore) and local.root == tmp_path / "out"
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("media-bucket", "chatwoot/images-v1")
    assert s3.spec == "s3://media-bucket/chatwoot/images-v1" and bare.spec == "s3://media-bucket"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gs://bucket/x", "only a local directory or s3://bucket/prefix is supported"),
        ("https://example.com/x", "only a local directory or s3://bucket/prefix is supported"),
        ("s3:///prefix", "names no bucket"),
        ("  ", "store is empty"),
    ],
)
def test_open_store_rejects_other_specs(spec: str, message: str):
    with pytest.raises(StoreError, match=message):
        open_store(spec)
