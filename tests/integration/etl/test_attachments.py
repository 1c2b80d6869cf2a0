"""Attachments over real HTTP on loopback: what gets stored, refused, retried, and how often.

The server is on 127.0.0.1, which the policy refuses by default, so most tests allow-list it
explicitly; the tripwire in the `http_server` fixture fails any test whose code connects
anywhere else.
"""

from __future__ import annotations

import hashlib
import socket
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from opsdata.core.safe_http import SafeHttpClient
from opsdata.etl.chatwoot.attachments import (
    AttachmentOutcome,
    AttachmentRequest,
    FetchPolicy,
    fetch_attachments,
)
from opsdata.etl.chatwoot.storage import LocalStore
from support_http import LoopbackServer, Reply, tls_contexts
from support_images import (
    HTML,
    SVG,
    animated_gif,
    jpeg_with_gps,
    png_with_metadata,
    webp_with_metadata,
)

LOOPBACK = ["127.0.0.1"]
# Timeouts loose enough that a loopback reply delayed by a loaded CI machine is not retried (the
# tests count attempts); the timeout test sets its own tight ones.
FAST = FetchPolicy(
    max_bytes=1_000_000,
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=5.0,
    backoff_initial=0.01,
    backoff_max=0.05,
    retry_after_max=5.0,
)


def jpeg_segments(data: bytes) -> list[int]:
    """The JPEG marker codes before the image data (APP1 = EXIF/XMP, APP2 = ICC, COM = comment)."""
    markers, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return markers


def run(
    urls: dict[str, str],
    store: LocalStore,
    *,
    allow_hosts: list[str] | None = None,
    policy: FetchPolicy = FAST,
    concurrency: int = 4,
    sleeps: list[float] | None = None,
    resolver=None,
    declared_size: int | None = None,
) -> dict[str, AttachmentOutcome]:
    requests = [AttachmentRequest(key, url, "image", declared_size) for key, url in urls.items()]
    extra = {"resolver": resolver} if resolver else {}
    with SafeHttpClient(
        allow_hosts=LOOPBACK if allow_hosts is None else allow_hosts,
        policy=policy,
        max_connections=concurrency,
        sleep=(sleeps.append if sleeps is not None else (lambda _s: None)),
        **extra,
    ) as client:
        outcomes = list(fetch_attachments(requests, store=store, concurrency=concurrency, policy=policy, client=client))
    assert sorted(o.key for o in outcomes) == sorted(urls)
    return {o.key: o for o in outcomes}


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


# ----- images -----------------------------------------------------------------------------
def test_each_image_format_is_stored_clean_and_content_addressed(http_server: LoopbackServer, store: LocalStore):
    # Given images of every accepted format, each full of metadata (GPS, camera, XMP, ICC, comments)
    images = {
        "jpeg": jpeg_with_gps(64, 32, orientation=6),
        "png": png_with_metadata(),
        "webp": webp_with_metadata(),
        "gif": animated_gif(),
    }
    urls = {
        k: http_server.route(f"/{k}", Reply(body=v, headers={"Content-Type": "image/x"})) for k, v in images.items()
    }

    outcomes = run(urls, store)

    expected = {"jpeg": ("image/jpeg", 32, 64), "png": ("image/png", 48, 24), "webp": ("image/webp", 40, 20)}
    expected["gif"] = ("image/gif", 30, 20)
    for key, (content_type, width, height) in expected.items():
        outcome = outcomes[key]
        assert (outcome.status, outcome.reason, outcome.attempts) == ("ok", None, 1)
        assert (outcome.content_type, outcome.width, outcome.height) == (content_type, width, height)
        stored = store.get(outcome.stored_path)
        assert (
            outcome.stored_path
            == f"images/{hashlib.sha256(stored).hexdigest()}.{content_type.split('/')[1]}".replace("jpeg", "jpg")
        )
        assert outcome.sha256 == hashlib.sha256(stored).hexdigest() and outcome.size == len(stored)
        reopened = Image.open(BytesIO(stored))
        assert not reopened.getexif() and not reopened.getexif().get_ifd(0x8825)
        assert not {"exif", "xmp", "icc_profile", "comment", "Comment", "XML:com.adobe.xmp"} & set(reopened.info)
        assert b"PrivateCam" not in stored and b"jane.doe" not in stored
    assert sorted(store.list()) == sorted(o.stored_path for o in outcomes.values())


def test_gps_exif_in_a_photo_is_absent_from_the_stored_bytes(http_server: LoopbackServer, store: LocalStore):
    photo = jpeg_with_gps()
    assert Image.open(BytesIO(photo)).getexif().get_ifd(0x8825)[2] == (52.0, 31.0, 12.5)  # the input has GPS
    assert 0xE1 in jpeg_segments(photo)

    outcome = run({"photo": http_server.route("/photo.jpg", Reply(body=photo))}, store)["photo"]

    stored = store.get(outcome.stored_path)
    # No APP1 (EXIF, XMP), APP2 (ICC) or COM segment is left, and no EXIF header anywhere.
    assert not {0xE1, 0xE2, 0xFE} & set(jpeg_segments(stored))
    assert b"Exif\x00\x00" not in stored and b"GPS" not in stored and b"ns.adobe.com" not in stored
    # Orientation 6 was applied before EXIF was dropped: red (left half) is now on top.
    pixels = Image.open(BytesIO(stored)).convert("RGB")
    assert pixels.size == (32, 64)
    top, bottom = pixels.getpixel((16, 8)), pixels.getpixel((16, 56))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


def test_identical_images_are_stored_once_and_a_repeated_url_is_fetched_once(
    http_server: LoopbackServer, store: LocalStore
):
    png = png_with_metadata()
    first = http_server.route("/a.png", Reply(body=png))
    second = http_server.route("/copy-of-a.png", Reply(body=png))

    outcomes = run({"a1": first, "a2": first, "b": second}, store)

    assert {o.stored_path for o in outcomes.values()} == {outcomes["a1"].stored_path}
    assert len(list(store.list())) == 1
    assert http_server.hits["/a.png"] == 1  # the repeated URL reused the first download
    assert [o.new for o in outcomes.values()].count(True) == 1


# ----- what is refused --------------------------------------------------------------------
def test_loopback_is_refused_without_the_allow_list(http_server: LoopbackServer, store: LocalStore):
    url = http_server.route("/a.png", Reply(body=png_with_metadata()))
    by_name = f"http://localhost:{http_server.port}/a.png"

    outcomes = run({"ip": url, "name": by_name}, store, allow_hosts=[])

    for outcome in outcomes.values():
        assert (outcome.status, outcome.reason) == ("rejected", "address_not_public: loopback")
        assert outcome.stored_path is None and not outcome.retryable
    assert http_server.hits["/a.png"] == 0  # refused before connecting
    assert list(store.list()) == []


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.7/admin", "address_not_public: private"),
        ("http://192.168.1.1/", "address_not_public: private"),
        ("http://169.254.169.254/latest/meta-data/iam/", "address_not_public: cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "address_not_public: cloud metadata"),
        ("http://100.64.1.1/", "address_not_public: carrier-grade NAT"),
        ("http://[::ffff:127.0.0.1]:9/", "address_not_public: loopback"),
        ("http://[::1]:9/", "address_not_public: loopback"),
        ("http://2130706433/", "non_canonical_ip: redirect target spells an IP address in a non-standard form"),
        ("http://0x7f.0.0.1/", "non_canonical_ip: redirect target spells an IP address in a non-standard form"),
        ("file:///etc/passwd", "scheme_not_allowed: redirect target uses file"),
        ("ftp://example.com/a.png", "scheme_not_allowed: redirect target uses ftp"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme_not_allowed: redirect target uses gopher"),
        ("http://user:secret@example.com/", "credentials_in_url: redirect target"),
    ],
)
def test_redirects_into_private_ranges_or_other_schemes_are_refused(
    http_server: LoopbackServer, store: LocalStore, location: str, reason: str
):
    url = http_server.redirect("/start", location)

    outcome = run({"a": url}, store)["a"]

    assert (outcome.status, outcome.reason, outcome.attempts) == ("rejected", reason, 1)
    assert http_server.hits["/start"] == 1


def test_every_redirect_hop_is_rechecked_even_from_an_allowed_host(http_server: LoopbackServer, store: LocalStore):
    # 127.0.0.1 is allowed, `localhost` is not: a redirect to it is refused although it is the same machine.
    http_server.route("/a.png", Reply(body=png_with_metadata()))
    url = http_server.redirect("/start", f"http://localhost:{http_server.port}/a.png")

    outcome = run({"a": url}, store)["a"]

    assert (outcome.status, outcome.reason) == ("rejected", "address_not_public: loopback")
    assert http_server.hits["/a.png"] == 0


def test_a_redirect_chain_is_followed_up_to_the_limit(http_server: LoopbackServer, store: LocalStore):
    http_server.route("/final.png", Reply(body=png_with_metadata()))
    for hop in range(5):
        target = "/final.png" if hop == 4 else f"/hop{hop + 1}"
        http_server.redirect(f"/hop{hop}", target, status=(301, 302, 303, 307, 308)[hop])
    http_server.redirect("/one-more", "/hop0")

    outcomes = run({"five": http_server.url("/hop0"), "six": http_server.url("/one-more")}, store)

    assert outcomes["five"].status == "ok"
    assert (outcomes["six"].status, outcomes["six"].reason) == ("rejected", "too_many_redirects: more than 5")


def test_svg_html_and_video_are_refused_whatever_their_content_type(http_server: LoopbackServer, store: LocalStore):
    png_type = {"Content-Type": "image/png"}
    urls = {
        "svg": http_server.route("/a.svg", Reply(body=SVG, headers=png_type)),
        "html": http_server.route("/login", Reply(body=HTML, headers=png_type)),
        "video": http_server.route(
            "/story.mp4", Reply(body=b"\x00\x00\x00\x18ftypmp42" + bytes(100), headers=png_type)
        ),
        "empty": http_server.route("/empty", Reply(body=b"", headers=png_type)),
        "corrupt": http_server.route("/broken.png", Reply(body=b"\x89PNG\r\n\x1a\n" + bytes(200), headers=png_type)),
    }

    outcomes = run(urls, store)

    assert {k: o.reason for k, o in outcomes.items()} == {
        "svg": "not_an_image: content looks like svg",
        "html": "not_an_image: content looks like html",
        "video": "not_an_image: content looks like iso media (video or heic)",
        "empty": "not_an_image: content looks like empty data",
        "corrupt": "corrupt_image: PNG could not be decoded (UnidentifiedImageError)",
    }
    assert all(o.status == "rejected" and o.attempts == 1 for o in outcomes.values())
    assert list(store.list()) == []


def test_a_decompression_bomb_is_refused_before_decoding(http_server: LoopbackServer, store: LocalStore):
    # 8,000 x 8,000 pixels of one colour: 8 kB on the wire, 192 MB once decoded as RGB.
    bomb = BytesIO()
    Image.new("1", (8_000, 8_000)).save(bomb, "PNG")
    url = http_server.route("/bomb.png", Reply(body=bomb.getvalue()))

    outcome = run({"bomb": url}, store)["bomb"]

    assert outcome.status == "rejected"
    assert outcome.reason == "too_many_pixels: 8000x8000 exceeds 50000000 pixels"


# ----- limits -----------------------------------------------------------------------------
def test_huge_responses_are_cut_off_at_the_size_limit(http_server: LoopbackServer, store: LocalStore):
    # Given 60 MB behind each URL, announced or not, and a 1 MB limit
    head = png_with_metadata()
    urls = {
        "declared": http_server.route("/declared", Reply(body=head, filler=60_000_000)),
        "chunked": http_server.route("/chunked", Reply(body=head, filler=60_000_000, content_length=False)),
    }

    outcomes = run(urls, store)

    assert outcomes["declared"].reason == f"too_large: declared {len(head) + 60_000_000} bytes, limit 1000000"
    assert outcomes["chunked"].reason == "too_large: more than 1000000 bytes"
    assert all(o.status == "rejected" and o.attempts == 1 for o in outcomes.values())
    # The download stopped early: the server could not push the 60 MB.
    assert http_server.sent["/chunked"] < 20_000_000


def test_a_declared_size_over_the_limit_is_not_downloaded(http_server: LoopbackServer, store: LocalStore):
    url = http_server.route("/big.png", Reply(body=png_with_metadata()))

    outcome = run({"a": url}, store, declared_size=5_000_000)["a"]

    assert (outcome.status, outcome.reason, outcome.attempts) == ("rejected", "too_large: declared 5000000 bytes", 0)
    assert http_server.hits["/big.png"] == 0


def test_slow_responses_time_out_and_are_retried(http_server: LoopbackServer, store: LocalStore):
    png = png_with_metadata()
    urls = {
        "stalls": http_server.route("/stalls", Reply(body=png, delay=1.5)),
        "drips": http_server.route("/drips", Reply(body=png + bytes(200_000), drip=0.3, chunk_size=4096)),
    }
    policy = FAST.model_copy(update={"read_timeout": 0.4, "total_timeout": 1.0, "max_attempts": 2})

    outcomes = run(urls, store, policy=policy)

    assert (outcomes["stalls"].status, outcomes["stalls"].reason) == ("failed", "timeout: read")
    assert (outcomes["drips"].status, outcomes["drips"].reason) == ("failed", "timeout: total")
    assert all(o.attempts == 2 and o.retryable for o in outcomes.values())
    assert http_server.hits["/stalls"] == 2 and http_server.hits["/drips"] == 2


# ----- retries ----------------------------------------------------------------------------
def test_server_errors_are_retried_with_backoff_until_success(http_server: LoopbackServer, store: LocalStore):
    url = http_server.route("/flaky.png", Reply(status=503), Reply(status=502), Reply(body=png_with_metadata()))
    sleeps: list[float] = []

    outcome = run({"a": url}, store, sleeps=sleeps)["a"]

    assert (outcome.status, outcome.attempts) == ("ok", 3)
    assert len(sleeps) == 2 and 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02  # doubling, with jitter


def test_persistent_server_errors_fail_after_the_last_attempt(http_server: LoopbackServer, store: LocalStore):
    url = http_server.route("/down.png", Reply(status=500))

    outcome = run({"a": url}, store)["a"]

    assert (outcome.status, outcome.reason, outcome.attempts, outcome.retryable) == (
        "failed",
        "http_status: 500",
        3,
        True,
    )
    assert http_server.hits["/down.png"] == 3


def test_429_waits_as_long_as_retry_after_says_up_to_the_cap(http_server: LoopbackServer, store: LocalStore):
    png = png_with_metadata()
    urls = {
        "polite": http_server.route("/polite", Reply(status=429, headers={"Retry-After": "2"}), Reply(body=png)),
        "greedy": http_server.route("/greedy", Reply(status=429, headers={"Retry-After": "3600"}), Reply(body=png)),
    }
    sleeps: list[float] = []

    outcomes = run(urls, store, sleeps=sleeps)

    assert all(o.status == "ok" and o.attempts == 2 for o in outcomes.values())
    assert sorted(sleeps) == [2.0, 5.0]  # 3600 s capped by retry_after_max


@pytest.mark.parametrize("status", [404, 403, 410, 400])
def test_other_client_errors_are_not_retried(http_server: LoopbackServer, store: LocalStore, status: int):
    url = http_server.route("/gone.png", Reply(status=status))

    outcome = run({"a": url}, store)["a"]

    assert (outcome.status, outcome.reason, outcome.attempts) == ("failed", f"http_status: {status}", 1)
    assert not outcome.retryable
    assert http_server.hits["/gone.png"] == 1


def test_a_dropped_connection_is_retried(http_server: LoopbackServer, store: LocalStore):
    png = png_with_metadata()
    url = http_server.route(
        "/cut.png", Reply(body=png + bytes(100_000), cut_after=8192, chunk_size=4096), Reply(body=png)
    )

    outcome = run({"a": url}, store)["a"]

    assert (outcome.status, outcome.attempts) == ("ok", 2)
    assert http_server.hits["/cut.png"] == 2


def test_a_connection_dropped_every_time_fails_as_retryable(http_server: LoopbackServer, store: LocalStore):
    url = http_server.route("/cut.png", Reply(body=bytes(100_000), cut_after=0))

    outcome = run({"a": url}, store)["a"]

    assert (outcome.status, outcome.reason, outcome.attempts) == ("failed", "connection_error: RemoteProtocolError", 3)
    assert outcome.retryable


# ----- connections --------------------------------------------------------------------------
def test_the_checked_address_is_the_one_connected_and_host_is_kept(http_server: LoopbackServer, store: LocalStore):
    # Given a name that only our resolver knows, allow-listed, pointing at the loopback server
    http_server.route("/a.png", Reply(body=png_with_metadata()))
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    url = f"http://images.shop.test:{http_server.port}/a.png"
    outcome = run({"a": url}, store, allow_hosts=["images.shop.test"], resolver=resolver)["a"]

    assert outcome.status == "ok"
    assert asked == ["images.shop.test"]  # resolved once, by us; the socket got the address
    assert http_server.requests[-1].headers["host"] == f"images.shop.test:{http_server.port}"


def test_a_name_with_any_private_answer_is_refused(http_server: LoopbackServer, store: LocalStore):
    # DNS rebinding tries several answers hoping one passes the check and another gets used.
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    outcome = run({"a": "http://rebind.test/a.png"}, store, allow_hosts=[], resolver=resolver)["a"]

    assert (outcome.status, outcome.reason) == ("rejected", "address_not_public: loopback")


def test_unknown_hosts_fail_without_retrying(http_server: LoopbackServer, store: LocalStore):
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    outcome = run({"a": "http://nowhere.test/a.png"}, store, allow_hosts=[], resolver=resolver)["a"]

    assert (outcome.status, outcome.reason, outcome.attempts) == ("failed", "dns_error: host not found", 1)


def test_downloads_share_a_bounded_pool(http_server: LoopbackServer, store: LocalStore):
    # Given 24 different images that each take a moment to serve
    urls = {}
    for i in range(24):
        body = png_with_metadata(20 + i, 10)
        urls[f"img{i}"] = http_server.route(f"/img{i}.png", Reply(body=body, delay=0.05))

    outcomes = run(urls, store, concurrency=4)

    assert all(o.status == "ok" for o in outcomes.values())
    assert 2 <= http_server.max_in_flight <= 4
    assert len({r.client_port for r in http_server.requests}) <= 4  # connections were reused


def test_a_store_that_cannot_write_fails_the_attachment_as_retryable(http_server: LoopbackServer, tmp_path: Path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's folder should be")
    url = http_server.route("/a.png", Reply(body=png_with_metadata()))

    outcome = run({"a": url}, LocalStore(blocker))["a"]

    assert (outcome.status, outcome.reason, outcome.retryable) == ("failed", "store_error: NotADirectoryError", True)


def test_the_default_client_refuses_loopback(http_server: LoopbackServer, store: LocalStore):
    # fetch_attachments as the ETL calls it: no client passed, allow-list empty by default
    url = http_server.route("/a.png", Reply(body=png_with_metadata()))

    outcomes = list(fetch_attachments([AttachmentRequest("a", url, None, None)], store=store))
    allowed = list(fetch_attachments([AttachmentRequest("a", url, None, None)], store=store, allow_hosts=LOOPBACK))

    assert outcomes[0].reason == "address_not_public: loopback"
    assert allowed[0].status == "ok"


# ----- TLS ----------------------------------------------------------------------------------
def test_https_verifies_the_host_name_while_connecting_to_the_pinned_address(
    loopback_network: list[str], store: LocalStore
):
    # Given an HTTPS server on 127.0.0.1 with a certificate for images.shop.test only
    server_tls, client_tls = tls_contexts("images.shop.test")
    good = LoopbackServer(tls=server_tls)
    wrong_tls, _ = tls_contexts("images.shop.test", certificate_for="other.test")
    wrong = LoopbackServer(tls=wrong_tls)
    with good, wrong:
        png = png_with_metadata()
        good.route("/a.png", Reply(body=png))
        wrong.route("/a.png", Reply(body=png))
        requests = [
            AttachmentRequest("good", f"https://images.shop.test:{good.port}/a.png"),
            AttachmentRequest("wrong", f"https://images.shop.test:{wrong.port}/a.png"),
        ]
        with SafeHttpClient(
            allow_hosts=["images.shop.test"], policy=FAST, resolver=lambda host, port: ["127.0.0.1"], verify=client_tls
        ) as client:
            outcomes = {o.key: o for o in fetch_attachments(requests, store=store, policy=FAST, client=client)}

    # Then the certificate was checked against the name (SNI kept), not the address dialled
    assert outcomes["good"].status == "ok"
    assert good.requests[0].headers["host"] == f"images.shop.test:{good.port}"
    assert (outcomes["wrong"].status, outcomes["wrong"].reason, outcomes["wrong"].attempts) == (
        "failed",
        "tls_error: certificate not valid for the host",
        1,
    )
    assert not outcomes["wrong"].retryable and wrong.hits["/a.png"] == 0


def test_bad_arguments_are_refused_before_anything_is_fetched(store: LocalStore):
    with pytest.raises(
        ValueError, match=r"--allow-host takes a host name or IP address, got 'chat\.example\.com:3000'"
    ):
        fetch_attachments([], store=store, allow_hosts=["chat.example.com:3000"])
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        fetch_attachments([], store=store, concurrency=0)
