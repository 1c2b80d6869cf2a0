"""The status page in headless Chromium against `opsdata serve` (a real process) and a fresh database:
a shop with a source in each status, a deliberately stale (red) source and a planted anomaly."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api_support import hs256_token, opsdata_serve
from opsdata.core.db import connect
from support import add_member, make_shop, make_user

SHOP = "status-page.myshopify.com"
SPIKE_DAY = datetime.now(UTC).date() - timedelta(days=10)


@dataclass
class StatusSite:
    base: str
    member: uuid.UUID
    stranger: uuid.UUID
    stale_sync_at: datetime


def _hourly_runs(source: str, first_hours_ago: int, last_hours_ago: int) -> str:
    """Hourly successful runs of 10 rows (100 on SPIKE_DAY) between the two ages, data up to each run's end.

    A run's day is the day it started, as the chart and the detector count it (a run that ends just
    after midnight belongs to the day before)."""
    return f"""
        insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at)
        select %(shop)s, '{source}', t - interval '2 minutes', t, 'succeeded',
               case when ((t - interval '2 minutes') at time zone 'UTC')::date = %(spike)s then 100 else 10 end, t
        from generate_series(now() - interval '{first_hours_ago} hours', now() - interval '{last_hours_ago} hours',
                             interval '1 hour') t
    """


@pytest.fixture(scope="module")
def site(cluster, template_database: str) -> Iterator[StatusSite]:
    # a database of its own, cloned from the migrated template (module scope: one server for all tests)
    name = f"opsdata_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'create database "{name}" template "{template_database}" owner postgres')
    url = cluster.url(name)
    stale_at = datetime.now(UTC) - timedelta(days=3)
    try:
        with connect(url) as conn, conn.transaction():
            shop = make_shop(conn, SHOP, name="Status Page Shop", timezone="UTC")
            member, stranger = make_user(conn, "ops@status.test"), make_user(conn, "nobody@status.test")
            add_member(conn, shop, member, "viewer")
            args = {"shop": shop, "spike": SPIKE_DAY}
            # green: Chatwoot syncs hourly for six weeks, with a tenfold spike of rows on SPIKE_DAY
            conn.execute(_hourly_runs("chatwoot", 42 * 24, 0), args)
            # yellow: the CRM feed stopped 30 hours ago (warn after 24 h, red after 48 h)
            conn.execute(_hourly_runs("crm_contacts", 8 * 24, 30), args)
            # red: deliberately stale, the last sync three days ago
            conn.execute(
                "insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded,"
                " max_data_at) select %s, 'legacy_erp', %s - d * interval '1 day' - interval '5 minutes',"
                " %s - d * interval '1 day', 'succeeded', 50, %s - d * interval '1 day' from generate_series(0, 9) d",
                (shop, stale_at, stale_at, stale_at),
            )
            # grey: configured, never synced
            conn.execute("insert into public.data_sources (shop_id, source) values (%s, 'newsletter')", (shop,))
            conn.execute("select private.run_quality_checks(now(), %s)", (shop,))
            conn.execute("select private.detect_anomalies(%s)", (shop,))
            planted = conn.execute(
                "select direction from public.anomalies where shop_id = %s and series = 'rows_loaded.chatwoot'"
                " and observed_on = %s",
                (shop, SPIKE_DAY),
            ).fetchone()
            assert planted == ("spike",), "the detector must flag the planted spike (fixture sanity)"
        with opsdata_serve(url) as base:
            yield StatusSite(base, member, stranger, stale_at)
    finally:
        with connect(cluster.admin_url()) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    requests: list[tuple[str, str | None]] = []
    page.on("request", lambda request: requests.append((request.url, request.headers.get("authorization"))))
    page.goto(url)
    return context, page, problems, requests


def test_signed_in_by_fragment_the_page_shows_every_status_alerts_and_the_anomaly(
    browser, site: StatusSite, artifacts: Path, capsys: pytest.CaptureFixture
) -> None:
    token = hs256_token(site.member)
    context, page, problems, requests = _open(browser, f"{site.base}/status#access_token={token}")
    try:
        page.wait_for_selector("#tiles li[data-status]")
        page.wait_for_selector("#alerts li")
        # the token left the address bar, lives in this tab's session storage only
        assert page.url == f"{site.base}/status"
        assert page.evaluate("sessionStorage.getItem('opsdata.status.token')") == token
        assert page.evaluate("localStorage.length") == 0

        # When the tiles are read
        tiles = {tile.get_attribute("data-source"): tile for tile in page.locator("#tiles li[data-status]").all()}
        statuses = {source: tile.get_attribute("data-status") for source, tile in tiles.items()}
        # Then each source has its status, worst first
        assert statuses == {"legacy_erp": "red", "crm_contacts": "yellow", "newsletter": "grey", "chatwoot": "green"}
        assert list(statuses) == ["legacy_erp", "crm_contacts", "newsletter", "chatwoot"]
        for source, status in statuses.items():
            assert tiles[source].locator(".badge").first.inner_text().strip().endswith(status.capitalize())
        stale = tiles["legacy_erp"]
        assert "3 days ago" in stale.locator("[data-field=last-sync]").inner_text()
        shown = stale.locator("[data-field=last-sync] time").get_attribute("datetime")
        assert abs(datetime.fromisoformat(shown) - site.stale_sync_at) < timedelta(seconds=1)
        assert "legacy_erp sync finished 3.0 days ago" in stale.locator(".message").inner_text()
        assert "30 hours ago" in tiles["crm_contacts"].locator("[data-field=last-sync]").inner_text()
        assert tiles["newsletter"].locator("[data-field=last-sync]").inner_text() == "never"
        assert "Chatwoot" in tiles["chatwoot"].locator("h3").inner_text()

        # the chart marks the planted spike, and says so to screen readers
        chart = tiles["chatwoot"].locator("svg.chart")
        marker = chart.locator(f"polygon.marker[data-day='{SPIKE_DAY}']")
        assert marker.count() == 1 and marker.get_attribute("data-direction") == "spike"
        assert "anomaly" in chart.locator(f"rect[data-day='{SPIKE_DAY}']").get_attribute("class")
        assert chart.get_attribute("data-anomalies") == "1"
        assert "Anomalies: " + SPIKE_DAY.strftime("%b %-d") + " (spike" in chart.locator("desc").text_content()
        assert len(tiles["chatwoot"].locator("rect.bar-day").all()) == 30

        # recent alerts: the first evaluation's yellow and red sources
        titles = page.locator("#alerts li .title").all_inner_texts()
        assert "legacy_erp is red" in titles and "crm_contacts is yellow" in titles
        assert page.locator("#anomalies tbody tr[data-series='rows_loaded.chatwoot']").count() == 1

        # nothing but this origin was asked for anything; the token only as a header, only to the API
        assert requests and all(url.startswith(site.base) for url, _ in requests)
        assert all(token not in url for url, _ in requests)
        assert {url.split("?")[0].removeprefix(site.base) for url, auth in requests if auth} == {
            "/api/data/shops",
            "/api/data/data-quality",
            "/api/data/alerts",
            "/api/data/source-daily-rows",
            "/api/data/anomaly-series",
            "/api/data/anomalies",
        }
        assert all(auth == f"Bearer {token}" for _, auth in requests if auth)
        assert problems == []  # no script error, no CSP violation

        shot = artifacts / "status.png"
        page.screenshot(path=str(shot), full_page=True)
        with capsys.disabled():  # shown in every run, not only on failure
            print(f"\nstatus page screenshot: {shot}")
        assert shot.stat().st_size > 10_000
    finally:
        context.close()


def test_a_token_pasted_into_the_form_works_and_signing_out_forgets_it(browser, site: StatusSite) -> None:
    context, page, problems, _ = _open(browser, f"{site.base}/status")
    try:
        page.get_by_label("Access token").fill(hs256_token(site.member))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#tiles li[data-status]")
        assert page.locator("#shop option").all_inner_texts() == [f"Status Page Shop ({SHOP})"]
        page.get_by_role("button", name="Sign out").click()
        assert page.locator("#signin").is_visible()
        assert page.evaluate("sessionStorage.getItem('opsdata.status.token')") is None
        assert problems == []
    finally:
        context.close()


def test_a_non_member_sees_a_clear_error(browser, site: StatusSite) -> None:
    context, page, problems, _ = _open(browser, f"{site.base}/status#access_token={hs256_token(site.stranger)}")
    try:
        page.wait_for_selector("#problem:not([hidden])")
        assert "not a member of any shop" in page.locator("#problem").inner_text()
        assert page.locator("#dashboard").is_hidden()
        assert problems == []
    finally:
        context.close()


def test_a_rejected_token_asks_to_sign_in_again(browser, site: StatusSite) -> None:
    expired = hs256_token(site.member, exp=int(datetime.now(UTC).timestamp()) - 3600)
    context, page, _, _ = _open(browser, f"{site.base}/status#access_token={expired}")
    try:
        page.wait_for_selector("#problem:not([hidden])")
        assert "access token was not accepted" in page.locator("#problem").inner_text()
        assert page.locator("#signin").is_visible()
        assert page.evaluate("sessionStorage.getItem('opsdata.status.token')") is None
    finally:
        context.close()


def test_today_is_the_last_bar(site: StatusSite, browser) -> None:
    opened_on = datetime.now(UTC).date()
    context, page, _, _ = _open(browser, f"{site.base}/status#access_token={hs256_token(site.member)}")
    try:
        page.wait_for_selector("#tiles li[data-status]")
        last = page.locator("[data-source=chatwoot] rect.bar-day").last
        # the page asked for its days between these two moments: either day, if midnight fell between
        assert last.get_attribute("data-day") in {str(opened_on), str(datetime.now(UTC).date())}
        assert "today" in last.get_attribute("class")
        days = json.loads(
            page.evaluate(
                "JSON.stringify([...document.querySelectorAll('[data-source=chatwoot] rect')].map(r => r.dataset.day))"
            )
        )
        assert days == sorted(days)
    finally:
        context.close()


def test_the_page_fits_a_phone_screen(browser, site: StatusSite, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US", timezone_id="UTC")
    page = context.new_page()
    try:
        page.goto(f"{site.base}/status#access_token={hs256_token(site.member)}")
        page.wait_for_selector("#tiles li[data-status]")
        too_wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)"
            ".map(e => e.tagName + '.' + e.className.toString())"
        )
        assert too_wide == [] and page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
        boxes = [tile.bounding_box() for tile in page.locator("#tiles li[data-status]").all()]
        assert len({round(box["x"]) for box in boxes}) == 1  # one column
        page.screenshot(path=str(artifacts / "status-phone.png"), full_page=True)
    finally:
        context.close()
