// The status page: reads the opsdata API with a Supabase access token and draws every node with
// the DOM (textContent, createElement): no HTML is ever built from data.
(() => {
  "use strict";
  const TOKEN_KEY = "opsdata.status.token";
  const SHOP_KEY = "opsdata.status.shop";
  const REFRESH_MS = 5 * 60 * 1000;
  const DAYS = 30;
  const SVG = "http://www.w3.org/2000/svg";
  // the API lives beside the page: /status -> /api/data/..., /prod/status -> /prod/api/data/...
  const apiRoot = location.pathname.replace(/\/status\/?$/, "/") + "api/data/";
  const STATUS_TEXT = {
    green: ["\u2713", "Green", "healthy"],
    yellow: ["!", "Yellow", "warning"],
    red: ["\u2715", "Red", "failing"],
    grey: ["?", "Grey", "could not be checked"],
  };

  const $ = (id) => document.getElementById(id);
  let token = null;
  let shops = [];
  let alertsCursor = null;
  let timer = null;

  // ----- DOM helpers: text only ---------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child);
    return node;
  }
  function clear(node) {
    node.replaceChildren();
    return node;
  }

  // ----- formatting -----------------------------------------------------------------------
  function zone(tz) {
    try {
      new Intl.DateTimeFormat(undefined, { timeZone: tz });
      return tz;
    } catch (e) {
      return "UTC";
    }
  }
  function formatTime(iso, tz) {
    return new Intl.DateTimeFormat(undefined, {
      timeZone: zone(tz), year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    }).format(new Date(iso));
  }
  function formatDay(day) {
    return new Intl.DateTimeFormat(undefined, { timeZone: "UTC", month: "short", day: "numeric" })
      .format(new Date(day + "T00:00:00Z"));
  }
  function ago(iso) {
    const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    const abs = Math.abs(seconds);
    if (abs < 3600) return rtf.format(-Math.round(seconds / 60), "minute");
    if (abs < 48 * 3600) return rtf.format(-Math.round(seconds / 3600), "hour");
    return rtf.format(-Math.round(seconds / 86400), "day");
  }
  function number(value) {
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
  }
  function timeNode(iso, tz) {
    if (!iso) return el("span", { class: "empty" }, "never");
    return el("span", {}, el("time", { datetime: iso }, formatTime(iso, tz)), " (" + ago(iso) + ")");
  }
  function badge(status, suffix) {
    const [icon, word] = STATUS_TEXT[status] || STATUS_TEXT.grey;
    return el("span", { class: "badge s-" + status }, el("span", { "aria-hidden": "true" }, icon), word + (suffix || ""));
  }

  // ----- messages -------------------------------------------------------------------------
  function notice(text) {
    $("notice").textContent = text || "";
  }
  function problem(title, detail) {
    const box = clear($("problem"));
    if (!title) {
      box.hidden = true;
      return;
    }
    box.append(el("p", {}, el("strong", {}, title)));
    if (detail) box.append(el("p", {}, detail));
    box.hidden = false;
  }

  // ----- the API --------------------------------------------------------------------------
  class ApiProblem extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  async function api(path, params) {
    const url = new URL(apiRoot + path, location.origin);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined) url.searchParams.set(name, String(value));
    }
    let response;
    try {
      response = await fetch(url, {
        headers: { Authorization: "Bearer " + token, Accept: "application/json" },
        credentials: "omit",
        cache: "no-cache", // revalidate with the ETag: a 304 costs the API almost nothing
        referrerPolicy: "no-referrer",
      });
    } catch (err) {
      throw new ApiProblem(0, "network", "The API could not be reached (" + err.message + ").");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      throw new ApiProblem(response.status, error.code || "http_" + response.status, error.message || response.statusText);
    }
    return body;
  }
  function explain(err) {
    if (!(err instanceof ApiProblem)) return ["Something went wrong on this page.", String(err && err.message)];
    if (err.status === 401) return ["Your access token was not accepted.", err.message + ". Sign in again with a new token."];
    if (err.status === 403) return ["You are not a member of this shop.", "Ask an admin of the shop to add you. (" + err.message + ")"];
    if (err.status === 0) return ["The API could not be reached.", err.message];
    return ["The API answered " + err.status + ".", err.message];
  }

  // ----- sign in and out ------------------------------------------------------------------
  function tokenFromFragment() {
    if (!location.hash || location.hash.length < 2) return null;
    const params = new URLSearchParams(location.hash.slice(1));
    // the fragment holds a secret: take it out of the address bar and the history entry
    history.replaceState(null, "", location.pathname + location.search);
    if (params.get("error_description") || params.get("error")) {
      problem("Sign-in failed.", params.get("error_description") || params.get("error"));
    }
    return params.get("access_token");
  }
  function showSignIn(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (timer) clearInterval(timer);
    $("dashboard").hidden = true;
    $("account").hidden = true;
    $("signin").hidden = false;
    notice(message || "");
  }
  async function signIn(newToken) {
    token = newToken.trim();
    if (!token) return showSignIn();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin").hidden = true;
    problem(null);
    notice("Loading your shops\u2026");
    let body;
    try {
      body = await api("shops");
    } catch (err) {
      const [title, detail] = explain(err);
      if (err.status === 401) showSignIn();
      problem(title, detail);
      notice("");
      return;
    }
    shops = body.data;
    if (!shops.length) {
      $("dashboard").hidden = true;
      $("account").hidden = false;
      $("shop").disabled = true;
      notice("");
      problem(
        "This account is not a member of any shop.",
        "Ask an admin of the shop to add you, then reload this page. (Locally: opsdata token --email \u2026 --shop \u2026)",
      );
      return;
    }
    const select = clear($("shop"));
    select.disabled = false;
    for (const shop of shops) {
      select.append(el("option", { value: shop.id }, shop.name + " (" + shop.domain + ")"));
    }
    const remembered = sessionStorage.getItem(SHOP_KEY);
    if (shops.some((s) => s.id === remembered)) select.value = remembered;
    $("account").hidden = false;
    await loadShop();
    if (timer) clearInterval(timer);
    timer = setInterval(() => {
      if (document.visibilityState === "visible" && token) loadShop();
    }, REFRESH_MS);
  }

  // ----- the dashboard --------------------------------------------------------------------
  function currentShop() {
    return shops.find((s) => s.id === $("shop").value) || shops[0];
  }
  async function loadShop() {
    const shop = currentShop();
    sessionStorage.setItem(SHOP_KEY, shop.id);
    problem(null);
    notice("Loading " + shop.domain + "\u2026");
    let results;
    try {
      results = await Promise.all([
        api("data-quality", { shop: shop.id }),
        api("alerts", { shop: shop.id, limit: 10 }),
        api("source-daily-rows", { shop: shop.id, days: DAYS }),
        api("anomaly-series", { shop: shop.id }),
        api("anomalies", { shop: shop.id, limit: 10 }),
      ]);
    } catch (err) {
      const [title, detail] = explain(err);
      $("dashboard").hidden = true;
      if (err.status === 401) showSignIn();
      problem(title, detail);
      notice("");
      return;
    }
    const [quality, alerts, rows, series, anomalies] = results;
    renderSummary(shop, quality);
    renderTiles(shop, quality.data, rows.data, series.data);
    clear($("alerts"));
    appendAlerts(shop, alerts);
    renderAnomalies(anomalies.data);
    $("dashboard").hidden = false;
    notice("Updated " + formatTime(new Date().toISOString(), shop.timezone) + " (" + shop.timezone + ").");
  }

  function renderSummary(shop, quality) {
    const counts = { red: 0, yellow: 0, grey: 0, green: 0 };
    for (const source of quality.data) counts[source.status] += 1;
    const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([status, n]) => n + " " + status);
    const summary = clear($("summary"));
    summary.append(
      el("strong", {}, shop.name),
      ": " + quality.data.length + " source" + (quality.data.length === 1 ? "" : "s") +
        (parts.length ? " \u2014 " + parts.join(", ") : "") + ".",
    );
    if (quality.meta.cached && quality.meta.cache_expires_at) {
      summary.append(" Served from the cache until " + formatTime(quality.meta.cache_expires_at, shop.timezone) + ".");
    }
  }

  function renderTiles(shop, sources, rows, series) {
    const tiles = clear($("tiles"));
    if (!sources.length) {
      tiles.append(el("li", { class: "empty" }, "No data sources yet: they appear after their first sync run."));
      return;
    }
    const bySource = new Map();
    for (const row of rows) {
      if (!bySource.has(row.source)) bySource.set(row.source, []);
      bySource.get(row.source).push(row);
    }
    const verdicts = new Map(series.map((s) => [s.series, s]));
    for (const source of sources) {
      const [, , meaning] = STATUS_TEXT[source.status] || STATUS_TEXT.grey;
      const headingId = "src-" + source.source;
      const tile = el(
        "li",
        { class: "tile s-" + source.status, "data-source": source.source, "data-status": source.status,
          "aria-labelledby": headingId },
        el("h3", { id: headingId },
          el("span", {}, source.label, source.label !== source.source ? el("span", { class: "key" }, " " + source.source) : null),
          badge(source.status, source.enabled ? "" : " (disabled)")),
        el("p", { class: "visually-hidden" }, "Status " + source.status + ": " + meaning + "."),
        el("p", { class: "message" }, source.message || (source.last_checked_at ? "All checks pass." : "Not checked yet.")),
        el("dl", {},
          el("dt", {}, "Last sync"), el("dd", { "data-field": "last-sync" }, timeNode(source.last_sync_at, shop.timezone)),
          el("dt", {}, "Data through"), el("dd", { "data-field": "data-through" }, timeNode(source.data_through, shop.timezone)),
          el("dt", {}, "Checked"), el("dd", {}, timeNode(source.last_checked_at, shop.timezone))),
      );
      tile.append(chart(source, bySource.get(source.source) || [], verdicts.get("rows_loaded." + source.source)));
      if (source.checks.length) {
        const list = el("ul");
        for (const check of source.checks) {
          list.append(el("li", { "data-check": check.check }, badge(check.status), el("span", {}, check.message)));
        }
        tile.append(el("details", {}, el("summary", {}, "Checks (" + source.checks.length + ")"), list));
      }
      tiles.append(tile);
    }
  }

  function chart(source, days, verdict) {
    const width = 300;
    const height = 84;
    const top = 12;
    const bottom = 14;
    const plot = height - top - bottom;
    const max = Math.max(1, ...days.map((d) => d.rows_loaded));
    const step = width / Math.max(1, days.length);
    const titleId = "chart-title-" + source.source;
    const descId = "chart-desc-" + source.source;
    const flagged = days.filter((d) => d.anomaly_id !== null);
    const total = days.reduce((sum, d) => sum + d.rows_loaded, 0);
    const description = days.length
      ? "Rows loaded per day from " + formatDay(days[0].day) + " to " + formatDay(days[days.length - 1].day) +
        ": " + number(total) + " in total, at most " + number(max) + " a day. " +
        (flagged.length
          ? "Anomalies: " + flagged.map((d) => formatDay(d.day) + " (" + d.anomaly_direction + ", " + number(d.rows_loaded) + " rows)").join("; ") + "."
          : "No anomalies.")
      : "No rows loaded in the last " + DAYS + " days.";
    const graphic = svg("svg", {
      class: "chart", viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-labelledby": titleId + " " + descId, "data-anomalies": flagged.length,
    });
    graphic.append(
      svg("title", { id: titleId }, "Rows loaded per day, " + source.label),
      svg("desc", { id: descId }, description),
      svg("line", { class: "axis", x1: 0, x2: width, y1: top + plot + 0.5, y2: top + plot + 0.5 }),
      svg("text", { x: 0, y: 9 }, "max " + number(max)),
    );
    days.forEach((d, i) => {
      const h = d.rows_loaded > 0 ? Math.max(1, (d.rows_loaded / max) * plot) : 0;
      const x = i * step + step * 0.12;
      const w = Math.max(1, step * 0.76);
      const last = i === days.length - 1;
      const classes = ["bar-day", d.anomaly_id !== null ? "anomaly" : "", last ? "today" : ""].join(" ").trim();
      const tip = formatDay(d.day) + ": " + number(d.rows_loaded) + " rows" + (last ? " (today so far)" : "") +
        (d.anomaly_id !== null ? " \u2014 anomaly (" + d.anomaly_direction + ")" : "");
      graphic.append(svg("rect", { class: classes, x: x.toFixed(2), y: (top + plot - h).toFixed(2),
        width: w.toFixed(2), height: h.toFixed(2), "data-day": d.day }, svg("title", {}, tip)));
      if (d.anomaly_id !== null) {
        const cx = x + w / 2;
        const y = top + plot - h;
        // a triangle above the bar: pointing up for a spike, down for a drop
        const points = d.anomaly_direction === "spike"
          ? [[cx - 4, y - 2], [cx + 4, y - 2], [cx, y - 9]]
          : [[cx - 4, y - 9], [cx + 4, y - 9], [cx, y - 2]];
        graphic.append(svg("polygon", {
          class: "marker " + d.anomaly_direction, points: points.map((p) => p.map((v) => v.toFixed(2)).join(",")).join(" "),
          "data-day": d.day, "data-direction": d.anomaly_direction,
        }, svg("title", {}, tip)));
      }
    });
    if (days.length) {
      graphic.append(
        svg("text", { x: 0, y: height - 2 }, formatDay(days[0].day)),
        svg("text", { x: width, y: height - 2, "text-anchor": "end" }, formatDay(days[days.length - 1].day)),
      );
    }
    let caption = "Rows loaded per day, last " + DAYS + " days";
    if (flagged.length) caption += "; " + flagged.length + " anomal" + (flagged.length === 1 ? "y" : "ies") + " marked \u25B2/\u25BC";
    if (verdict && verdict.state === "insufficient_history") {
      caption += ". Not judged yet: " + verdict.history_points + " of " + verdict.min_history + " same-weekday days of history";
    }
    return el("figure", {}, graphic, el("figcaption", {}, caption + "."));
  }

  function appendAlerts(shop, page) {
    const list = $("alerts");
    if (!page.data.length && !list.children.length) {
      list.append(el("li", { class: "empty" }, "No alerts."));
    }
    for (const alert of page.data) {
      list.append(el("li", { class: "sev-" + alert.severity, "data-kind": alert.kind, "data-severity": alert.severity },
        el("div", { class: "when" }, el("time", { datetime: alert.created_at }, formatTime(alert.created_at, shop.timezone)),
          " \u00B7 " + alert.severity + " \u00B7 " + alert.kind.replace("_", " ") +
            (alert.delivery_status === "queued" ? " \u00B7 not delivered yet" : "")),
        el("p", { class: "title" }, alert.title),
        alert.message !== alert.title ? el("p", { class: "text" }, alert.message) : null));
    }
    alertsCursor = page.meta.next_cursor;
    $("more-alerts").hidden = !alertsCursor;
  }

  async function moreAlerts() {
    const shop = currentShop();
    try {
      appendAlerts(shop, await api("alerts", { shop: shop.id, limit: 10, cursor: alertsCursor }));
    } catch (err) {
      const [title, detail] = explain(err);
      problem(title, detail);
    }
  }

  function renderAnomalies(rows) {
    const body = clear($("anomalies").tBodies[0]);
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "No anomalies found.")));
      return;
    }
    for (const a of rows) {
      const arrow = a.direction === "spike" ? "\u25B2 " : "\u25BC ";
      body.append(el("tr", { "data-series": a.series },
        el("td", {}, el("time", { datetime: a.observed_on }, formatDay(a.observed_on))),
        el("td", {}, a.series + (a.kind === "level_shift" ? " (level shift)" : "")),
        el("td", { class: "num" }, arrow + number(a.value) + " " + a.direction),
        el("td", { class: "num" }, number(a.expected))));
    }
  }

  // ----- wiring ---------------------------------------------------------------------------
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("token");
    const value = input.value;
    input.value = "";
    signIn(value);
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(SHOP_KEY);
    problem(null);
    showSignIn("Signed out.");
  });
  $("refresh").addEventListener("click", () => loadShop());
  $("shop").addEventListener("change", () => loadShop());
  $("more-alerts").addEventListener("click", () => moreAlerts());

  const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
  if (initial) signIn(initial);
  else showSignIn();
})();
