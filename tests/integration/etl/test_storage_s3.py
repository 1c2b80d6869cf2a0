"""The S3 store against moto: same behaviour as the local one, under a key prefix."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from opsdata.etl.chatwoot.storage import S3Store, StoreError, open_store
from support_aws import REGION, use_fake_aws

BUCKET = "opsdata-media-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    use_fake_aws(monkeypatch)
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def test_put_is_content_addressed_and_idempotent_under_the_prefix(s3):
    store = open_store(f"s3://{BUCKET}/tenant-a/chatwoot")
    data = b"GIF89a tiny"
    digest = hashlib.sha256(data).hexdigest()

    first = store.put(data, extension="gif", content_type="image/gif")
    again = store.put(data, extension="gif", content_type="image/gif")

    assert (first.path, first.created, again.created) == (f"images/{digest}.gif", True, False)
    head = s3.head_object(Bucket=BUCKET, Key=f"tenant-a/chatwoot/images/{digest}.gif")
    assert head["ContentType"] == "image/gif" and head["ContentLength"] == len(data)
    assert store.exists(first.path) and store.get(first.path) == data
    assert list(store.list()) == [first.path]
    assert not store.exists("images/other.gif")


def test_list_pages_through_many_objects_and_get_names_missing_ones(s3):
    store = S3Store(BUCKET, "p")
    paths = {store.put(str(i).encode(), extension="png", content_type="image/png").path for i in range(1001)}
    s3.put_object(Bucket=BUCKET, Key="outside-prefix.png", Body=b"x")

    assert set(store.list("images/")) == paths and len(paths) == 1001
    with pytest.raises(StoreError, match=r"images/missing\.png is not in s3://opsdata-media-test/p"):
        store.get("images/missing.png")


def test_a_missing_bucket_is_an_error_not_a_silent_miss(s3):
    from botocore.exceptions import ClientError

    store = S3Store("no-such-bucket-here")
    with pytest.raises(ClientError):
        store.put(b"x", extension="png", content_type="image/png")
