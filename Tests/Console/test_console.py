"""The web console in a real browser, against the `scepter dev` that run.sh
started and filled: sign-in, overview, the profiles, Intune monitoring and
the trust reload, certificate search, detail and revocation (checked with OCSP), the
audit log and its CSV export, the viewer role, a phone-sized screen, sign-out.

The tests run in file order and share one browser: each leaves the console
as the next expects it (the revocation of test_certificates is seen by the
later ones). Every wait is a WebDriverWait on a condition, 20 s at most.
The hooks used are those of the header comment of Sources/Control/Console/console.js.
"""

import base64
import csv
import hashlib
import http.client
import json
import re
import subprocess
from datetime import datetime, timedelta, timezone
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import NARROW, WIDE, set_viewport

TIMEOUT = 20  # seconds, for every wait


# ---- Helpers ------------------------------------------------------------------


def by_testid(name: str):
    return (By.CSS_SELECTOR, f'[data-testid="{name}"]')


def css(selector: str):
    return (By.CSS_SELECTOR, selector)


def wait(driver, condition, what: str, timeout: float = TIMEOUT):
    """Waits until `condition(driver)` is truthy and returns it; `what` names it in a timeout."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition, message=f"waited {timeout} s for {what}")


def shown(locator):
    """The element, once it is in the page and displayed."""

    def condition(driver):
        found = driver.find_elements(*locator)
        return found[0] if found and found[0].is_displayed() else False

    return condition


def gone(locator):
    """True once no such element is displayed."""

    def condition(driver):
        return all(not e.is_displayed() for e in driver.find_elements(*locator))

    return condition


def text_is(locator, expected: str):
    def condition(driver):
        found = driver.find_elements(*locator)
        return found[0] if found and found[0].text.strip() == expected else False

    return condition


def text_matches(locator, pattern: str):
    def condition(driver):
        found = driver.find_elements(*locator)
        return found[0] if found and re.search(pattern, found[0].text) else False

    return condition


def dialog_open(dialog_id: str):
    return lambda driver: driver.execute_script(
        "const d = document.getElementById(arguments[0]); return !!(d && d.open);", dialog_id
    )


def dialog_closed(dialog_id: str):
    return lambda driver: driver.execute_script(
        "const d = document.getElementById(arguments[0]); return !d || !d.open;", dialog_id
    )


def scroll_to(driver, element):
    """Puts an element at the top of the viewport, for a screenshot of it."""
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'start', behavior: 'instant'}); window.scrollBy(0, -12);", element
    )


def go(driver, route: str):
    """Follows an in-page route (#/…) the way a link does."""
    driver.execute_script("location.hash = arguments[0];", route)


def screenshot(driver, run, name: str):
    path = run.screenshots / name
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    return path


def no_horizontal_scroll(driver) -> bool:
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;"
    )


def api(run, path: str, token: str | None = None, method: str = "GET", body=None):
    """The admin API over plain HTTP: (status, parsed JSON or text)."""
    request = urllib.request.Request(f"{run.url}{path}", method=method)
    request.add_header("Authorization", f"Bearer {token or run.admin_token}")
    request.add_header("Accept", "application/json")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=TIMEOUT) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def serial_of(cert_file: str) -> int:
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-serial", "-in", cert_file],
        check=True, capture_output=True, text=True, timeout=TIMEOUT,
    ).stdout
    return int(out.strip().split("=", 1)[1], 16)


def api_serial(run, cn: str) -> str:
    """The serial of a seeded certificate in the API's form: lowercase hex, whole octets."""
    digits = format(serial_of(run.seed(cn).cert_file), "x")
    return digits.rjust(len(digits) + len(digits) % 2, "0")


def sign_in(driver, run, token: str, role: str, *, with_enter: bool = False):
    driver.get(run.console)
    field = wait(driver, shown(css("#token")), "the sign-in form")
    field.clear()
    field.send_keys(token)
    if with_enter:
        field.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, "signin-submit").click()
    wait(driver, text_matches(css("#whoami-text"), rf"\({role}\)$"), f"'Signed in as … ({role})'")


def sign_out(driver):
    if driver.find_elements(By.ID, "signout") and driver.find_element(By.ID, "signout").is_displayed():
        driver.find_element(By.ID, "signout").click()
    wait(driver, shown(css("#token")), "the sign-in form after sign-out")


def rows(driver, prefix: str):
    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid^="{prefix}"]')


def in_view(selector: str):
    """True once the top of the element is inside the window (not scrolled above or below it)."""
    return lambda driver: driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (!e) return false;"
        " const top = e.getBoundingClientRect().top; return top > -1 && top < window.innerHeight;",
        selector,
    )


def fake_fetch(driver, script: str):
    """Replaces the page's fetch by `(url, init) => …` (the real one is window.realFetch) until restore_fetch."""
    driver.execute_script(f"window.realFetch = window.realFetch || window.fetch; window.fetch = {script};")


def restore_fetch(driver):
    driver.execute_script("if (window.realFetch) { window.fetch = window.realFetch; delete window.realFetch; }")


def check_narrow(driver, run, element, name: str):
    """At phone width: `element` in view, no sideways scroll of the page, a screenshot `name`; then wide again."""
    set_viewport(driver, NARROW, mobile=True)
    try:
        scroll_to(driver, element)
        assert no_horizontal_scroll(driver), driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
        screenshot(driver, run, name)
    finally:
        set_viewport(driver, WIDE)


def fake_outage(driver, path: str):
    """Answers the page's requests under `path` with a 503 and the server's error body, until restore_fetch."""
    fake_fetch(driver, """(url, init) => String(url).startsWith('%s')
        ? Promise.resolve(new Response(JSON.stringify({ error: { code: 'unavailable', message: 'the database is unreachable' } }),
            { status: 503, headers: { 'Content-Type': 'application/json' } }))
        : window.realFetch(url, init)""" % path)


def fake_answer(driver, path: str, name: str, change: str):
    """Alters the page's GET `path` answers: `change` is JavaScript run on the real answer,
    bound to `name`, before the page gets it. Until restore_fetch."""
    fake_fetch(driver, """(url, init) => !String(url).startsWith('%s') ? window.realFetch(url, init)
        : window.realFetch(url, init).then((r) => r.json()).then((%s) => {
            %s
            return new Response(JSON.stringify(%s), { status: 200, headers: { 'Content-Type': 'application/json' } });
          })""" % (path, name, change, name))


def fake_profiles(driver, change: str):
    """fake_answer for GET /api/v1/profiles; `change` alters `list`."""
    fake_answer(driver, "/api/v1/profiles", "list", change)


def fake_stats(driver, change: str):
    """fake_answer for GET /api/v1/admin/scep/intune/stats; `change` alters `stats`."""
    fake_answer(driver, "/api/v1/admin/scep/intune/stats", "stats", change)


def more_fields(driver, row) -> list:
    """Opens a table row's More (when it is closed) and returns its (term, value) pairs."""
    details = row.find_element(By.CSS_SELECTOR, "details.more")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()
    wait(driver, lambda _: details.find_element(By.TAG_NAME, "dl").is_displayed(), "the opened More")
    return [(pair.find_element(By.TAG_NAME, "dt").text, pair.find_element(By.TAG_NAME, "dd").text)
            for pair in details.find_elements(By.CSS_SELECTOR, "dl > div")]


def reopen_intune(driver):
    """Opens the Intune page again, which loads it at once (as its 30 s timer does)."""
    go(driver, "#/overview")
    wait(driver, shown(css("#page-overview")), "the overview")
    go(driver, "#/intune")


def setting(driver, profile: str, key: str) -> str:
    """The value shown for one setting of a card ([setting-<profile>-<key>] dd)."""
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="setting-{profile}-{key}"] dd').text


def profile_setting(driver, profile: str, key: str) -> str:
    """The value shown for one setting of a Profiles card ([profiles-setting-<profile>-<key>] dd)."""
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="profiles-setting-{profile}-{key}"] dd').text


def reopen_profiles(driver):
    """Opens the Profiles page again, which loads it at once."""
    go(driver, "#/overview")
    wait(driver, shown(css("#page-overview")), "the overview")
    go(driver, "#/profiles")


def fake_issuers(driver, change: str):
    """fake_answer for GET /api/v1/issuers; `change` alters `list`."""
    fake_answer(driver, "/api/v1/issuers", "list", change)


ISSUER_CELLS = ("ca", "profiles", "certificates", "lastExpiry", "revocations", "urls")


def issuer_cells(driver, name: str) -> dict:
    """The texts of an issuer's row in the Profiles page's Issuers table, by key."""
    row = driver.find_element(*by_testid(f"issuers-row-{name}"))
    cells = {"name": row.find_element(By.TAG_NAME, "th").text, "state": row.find_element(*by_testid(f"issuers-state-{name}")).text}
    for key in ISSUER_CELLS:
        cells[key] = row.find_element(*by_testid(f"issuers-{name}-{key}")).text
    return cells


def cells_of(driver, name: str) -> dict:
    """issuer_cells, or {} while the row is not (or no longer) in the page: for waits."""
    try:
        return issuer_cells(driver, name)
    except (NoSuchElementException, StaleElementReferenceException):
        return {}


def utc_text(iso: str) -> str:
    """An API time as the console shows it: 2026-12-07T14:02:11Z -> 2026-12-07 14:02:11 UTC."""
    return iso.replace("T", " ").replace("Z", " UTC")


def not_after_of(cert_file: str) -> str:
    """A certificate's notAfter as the API writes times."""
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-enddate", "-in", cert_file],
        check=True, capture_output=True, text=True, timeout=TIMEOUT,
    ).stdout
    when = datetime.strptime(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def content_children(driver) -> list:
    """The data-testid of each child of the Profiles page's content, in order."""
    return [e.get_attribute("data-testid") for e in driver.find_elements(By.CSS_SELECTOR, "#profiles-content > *")]


def utc_in(days: float) -> str:
    """The time `days` from now, as the API writes times."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- Tests --------------------------------------------------------------------


def test_served_with_strict_security_headers(run):
    """The page and its scripts carry the CSP and frame headers docs/console.md promises."""
    for path in ("/admin/", "/admin/console.js", "/admin/console.css"):
        with urllib.request.urlopen(f"{run.url}{path}", timeout=TIMEOUT) as response:
            headers = response.headers
            assert response.status == 200, path
        policy = headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, f"{path}: {policy}"
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, f"{path}: {policy}"
        assert "frame-ancestors 'none'" in policy, f"{path}: {policy}"
        assert headers.get("X-Frame-Options") == "DENY", path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("Referrer-Policy") == "no-referrer", path
        assert "no-store" in headers.get("Cache-Control", ""), path


def test_head_answers_like_get_without_a_body(run):
    """HEAD of the console's addresses (a monitor's or a proxy's check) answers as GET, without the body."""
    host, port = run.url.removeprefix("http://").rsplit(":", 1)

    def fetch(method: str, path: str):
        connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    for path in ("/admin", "/admin/", "/admin/console.js", "/admin/console.css", "/admin/no-such-file.js"):
        get_status, get_headers, get_body = fetch("GET", path)
        head_status, head_headers, head_body = fetch("HEAD", path)
        assert head_status == get_status, f"HEAD {path}: {head_status}, GET {path}: {get_status}"
        assert head_body == b"", f"HEAD {path} has a body"
        for name in ("content-type", "content-length", "location", "content-security-policy", "x-frame-options", "cache-control"):
            assert head_headers.get(name) == get_headers.get(name), f"{path} {name}: HEAD {head_headers.get(name)!r}, GET {get_headers.get(name)!r}"
        assert get_headers.get("content-length") == str(len(get_body)), path
    assert fetch("HEAD", "/admin")[0] == 303 and fetch("HEAD", "/admin/")[0] == 200


@pytest.mark.http_errors(401)
def test_wrong_token_shows_the_sign_in_error(driver, run):
    driver.get(run.console)
    wait(driver, shown(css("#token")), "the sign-in form")
    assert driver.title.startswith("Sign in")
    driver.find_element(By.ID, "token").send_keys("not-a-token-" + run.viewer_token[:8])
    driver.find_element(By.ID, "signin-submit").click()
    error = wait(driver, shown(css("#signin-error")), "#signin-error")
    assert error.text == "That token was not accepted."
    assert driver.find_element(By.ID, "token").get_attribute("aria-invalid") == "true"
    assert not driver.find_element(By.ID, "nav").is_displayed()
    assert driver.execute_script("return sessionStorage.length;") == 0, "a refused token stays in sessionStorage"
    # What was typed stays, to be mended; a name:token paste gets the hint to paste what follows the colon.
    field = driver.find_element(By.ID, "token")
    assert field.get_attribute("value") == "not-a-token-" + run.viewer_token[:8]
    field.clear()
    field.send_keys("helpdesk:not-a-token-" + run.viewer_token[:8])
    driver.find_element(By.ID, "signin-submit").click()
    wait(driver, text_matches(css("#signin-error"), r"paste only what follows the first colon\.$"), "the name:token hint")


def test_the_log_check_sees_a_csp_violation(driver, run):
    """The console-log check is not blind: an inline script, which the CSP refuses, is reported."""
    assert not driver.console_log.drain(driver, "before the injected script")
    driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.injected = 1;';"
        " document.body.appendChild(s);"
    )
    found = []
    wait(driver, lambda d: found.extend(d.console_log.drain(d, "injected inline script")) or found,
         "Chromium to log the CSP violation")
    assert any(p.startswith("CSP violation: ") for p in found), found
    assert driver.execute_script("return window.injected === undefined;"), "the CSP let an inline script run"


def test_overview_totals_match_the_enrollments(driver, run):
    sign_in(driver, run, run.admin_token, "admin")
    assert driver.find_element(By.ID, "whoami-text").text == "Signed in as dev (admin)"
    successes = sum(1 for s in run.seeds if s.succeeded)
    assert successes == 4
    wait(driver, text_is(by_testid("total-active-value"), str(successes)), f"{successes} active certificates")
    status, overview = api(run, "/api/v1/overview")
    assert status == 200
    assert overview["active"] == successes
    assert driver.find_element(*by_testid("total-expiring-value")).text == str(overview["expiringIn30Days"])
    assert driver.find_element(*by_testid("total-revoked-value")).text == str(overview["revoked"]) == "0"
    assert driver.find_element(*by_testid("total-superseded")).text == str(overview["superseded"])
    assert driver.find_element(By.CSS_SELECTOR, '[data-testid="chart-issued"] svg').is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, '[data-testid="chart-expiring"] svg').is_displayed()
    wait(driver, text_matches(css("#overview-status"), r"^As of "), "the overview's 'As of' line")
    assert driver.find_element(By.ID, "nav-overview").get_attribute("aria-current") == "page"

    # The token is in no URL: not the page's, not any request's.
    urls = [driver.current_url] + driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name);"
    )
    assert any("/api/v1/overview" in u for u in urls), urls
    assert not [u for u in urls if run.admin_token in u], "the token appears in a URL"
    screenshot(driver, run, "console-overview.png")


def test_overview_marks_its_figures_out_of_date_after_a_failed_refresh(driver, run):
    """A refresh answered with a 5xx keeps the figures, marked with the time they are from."""
    go(driver, "#/overview")
    status_line = wait(driver, text_matches(css("#overview-status"), r"^As of .+ UTC\.$"), "the overview's 'As of' line")
    as_of = re.match(r"^As of (.+ UTC)\.$", status_line.text).group(1)
    active = driver.find_element(*by_testid("total-active-value")).text
    fake_outage(driver, '/api/v1/overview')
    try:
        driver.find_element(By.ID, "overview-refresh").click()
        stale = wait(driver, text_matches(css("#overview-status"), r"^Out of date: the refresh at .+ UTC failed\. "),
                     "the overview's out-of-date line")
        assert stale.text.endswith(f"The figures below are as of {as_of}."), stale.text
        assert "stale" in driver.find_element(By.ID, "overview-content").get_attribute("class").split()
        assert driver.find_element(*by_testid("total-active-value")).text == active, "the figures were not kept"
        assert driver.find_element(By.ID, "error-text").text == "Overview: the database is unreachable"
        screenshot(driver, run, "console-overview-stale.png")
    finally:
        restore_fetch(driver)
    driver.find_element(By.ID, "overview-refresh").click()
    wait(driver, text_matches(css("#overview-status"), r"^As of .+ UTC\.$"), "the 'As of' line after a good refresh")
    assert "stale" not in driver.find_element(By.ID, "overview-content").get_attribute("class").split()


def test_overview_counts_the_ra_certificates_and_issuing_cas_to_renew(driver, run):
    """The tile Certificates expiring, from the overview's own GET /api/v1/profiles: 0 and All OK
    with run.sh's certificates; with the answer altered in the page's fetch, one RA certificate
    (shared by both profiles) amber and one issuing CA (shared too) red, it counts 2, each once,
    with the most urgent badge, and links to the Profiles page."""
    go(driver, "#/overview")
    wait(driver, text_matches(css("#overview-status"), r"^As of "), "the overview")
    tile = wait(driver, text_is(by_testid("certs-expiring-value"), "0"), "the tile: 0").find_element(By.XPATH, "..")
    assert tile.get_attribute("data-testid") == "certs-expiring" and tile.get_attribute("href").endswith("#/profiles")
    assert tile.find_element(By.CLASS_NAME, "tile-title").text == "Certificates expiring"
    assert driver.find_element(*by_testid("certs-expiring-note")).text == (
        "All OK: every RA certificate and issuing CA has 30 days or more left.")
    assert not set(tile.get_attribute("class").split()) & {"tile-warn", "tile-bad"}

    status, profiles = api(run, "/api/v1/profiles")
    assert status == 200 and len({p["edges"][0]["settings"]["ra"]["fingerprint"] for p in profiles}) == 1, "run.sh: one RA"
    fake_profiles(driver, """
            for (const p of list) {
              Object.assign(p.edges[0], { raDaysLeft: 12, raBadge: 'amber' });
              Object.assign(p.issuer, { daysLeft: 3, badge: 'red' });
            }""")
    try:
        driver.find_element(By.ID, "overview-refresh").click()
        value = wait(driver, text_is(by_testid("certs-expiring-value"), "2"), "the tile: 2")
        note = driver.find_element(*by_testid("certs-expiring-note"))
        assert note.text == "Renew now 1 RA certificate and 1 issuing CA with fewer than 30 days left or expired.", note.text
        assert note.find_element(By.CLASS_NAME, "badge").get_attribute("data-badge") == "red"
        tile = value.find_element(By.XPATH, "..")
        assert "tile-bad" in tile.get_attribute("class").split()
        screenshot(driver, run, "console-overview-renew.png")
        check_narrow(driver, run, tile, "console-overview-renew-narrow.png")
        tile.click()
        warning = wait(driver, shown(by_testid("profiles-expiry-warning")), "the Profiles page with its warning")
        assert len(warning.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ra"] > li')) == 2  # one a profile
        assert len(warning.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ca"] > li')) == 1
        scroll_to(driver, warning)
        screenshot(driver, run, "console-profiles-expiry-both.png")
    finally:
        restore_fetch(driver)
    go(driver, "#/overview")
    wait(driver, text_is(by_testid("certs-expiring-value"), "0"), "the tile: 0 again")


def test_overview_says_unknown_when_the_profiles_cannot_be_read(driver, run):
    """A 503 on the overview's GET /api/v1/profiles makes the tile say unknown with the server's
    message, never 0, while the figures of GET /api/v1/overview show as current; without the
    edges' heartbeats (Redis) the RA certificates are unknown, and so is the count."""
    go(driver, "#/overview")
    wait(driver, text_is(by_testid("certs-expiring-value"), "0"), "the tile: 0")
    fake_outage(driver, "/api/v1/profiles")
    try:
        driver.find_element(By.ID, "overview-refresh").click()
        value = wait(driver, text_is(by_testid("certs-expiring-value"), "unknown"), "the tile: unknown")
        assert driver.find_element(*by_testid("certs-expiring-note")).text == (
            "RA certificates and issuing CAs: the profiles could not be read (the database is unreachable).")
        assert "tile-warn" in value.find_element(By.XPATH, "..").get_attribute("class").split()
        wait(driver, text_matches(css("#overview-status"), r"^As of .+ UTC\.$"), "the overview's 'As of' line")
        assert "stale" not in driver.find_element(By.ID, "overview-content").get_attribute("class").split()
        assert driver.find_element(*by_testid("total-active-value")).text == "4"
        screenshot(driver, run, "console-overview-unknown.png")
    finally:
        restore_fetch(driver)

    fake_profiles(driver, "for (const p of list) delete p.edges;")
    try:
        driver.find_element(By.ID, "overview-refresh").click()
        wait(driver, text_is(by_testid("certs-expiring-value"), "unknown"), "the tile: unknown")
        assert driver.find_element(*by_testid("certs-expiring-note")).text == (
            "Every issuing CA has 30 days or more left. The RA certificates are unknown: the control plane cannot read "
            "the edges\u2019 heartbeats (Redis).")
    finally:
        restore_fetch(driver)
    driver.find_element(By.ID, "overview-refresh").click()
    wait(driver, text_is(by_testid("certs-expiring-value"), "0"), "the tile: 0 after a good refresh")


def test_intune_counters_badge_and_trust_reload(driver, run):
    driver.find_element(By.ID, "nav-intune").click()
    wait(driver, shown(by_testid("profile-card-corp")), "the corp card")
    wait(driver, text_is(by_testid("count-corp-success-24h"), "3"), "corp: 3 successes in 24 h")
    wait(driver, text_is(by_testid("count-corp-challenge_invalid-24h"), "1"), "corp: 1 challenge_invalid in 24 h")
    assert driver.find_element(*by_testid("count-corp-success-total")).text == "3"
    assert driver.find_element(*by_testid("count-corp-challenge_invalid-total")).text == "1"

    # The Connector certificate expires in 20 days: amber, "Renew soon".
    der = base64.b64decode(
        "".join(l for l in run.connector_cert.read_text().splitlines() if not l.startswith("-----"))
    )
    fingerprint = hashlib.sha256(der).hexdigest()
    badge = wait(driver, shown(by_testid(f"badge-{fingerprint[:12]}")), "the Connector certificate's badge")
    assert badge.text == "Renew soon"
    assert badge.get_attribute("data-badge") == "amber"

    card = driver.find_element(*by_testid("profile-card-corp"))
    failures = card.find_elements(*by_testid("failure-row"))
    assert len(failures) == 1 and "challenge_invalid" in failures[0].text
    assert run.seed("console-intruder").report["transactionID"] in failures[0].text
    wait(driver, text_matches(css("#intune-status"), r"^Counters as of "), "the Intune status line")
    scroll_to(driver, card)
    screenshot(driver, run, "console-intune.png")

    # Reload the trust anchors: the dev process's own edge answers "reloaded".
    status, stats = api(run, "/api/v1/admin/scep/intune/stats")
    assert status == 200
    edges = {e["id"] for p in stats["profiles"] for e in p.get("edges", [])}
    assert edges, "no live edge in the stats"
    driver.execute_script("window.scrollTo(0, 0);")
    driver.find_element(By.ID, "reload-trust").click()
    wait(driver, dialog_open("reload-dialog"), "the reload dialog")
    driver.find_element(By.ID, "reload-confirm").click()
    wait(driver, shown(by_testid("reload-summary")), "the reload summary")
    for edge in edges:
        wait(driver, text_is(by_testid(f"reload-status-{edge}"), "reloaded"), f"edge {edge}: reloaded")
    statuses = [e.text for e in rows(driver, "reload-status-")]
    assert statuses and set(statuses) == {"reloaded"}, statuses
    assert re.search(r"\b1 reloaded, 0 failed, 0 did not answer\.$", driver.find_element(*by_testid("reload-summary")).text)
    screenshot(driver, run, "console-reload.png")
    # Escape closes the dialog, as any modal dialog; focus goes back to the button.
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(driver, dialog_closed("reload-dialog"), "the reload dialog to close")
    wait(driver, lambda d: d.switch_to.active_element == d.find_element(By.ID, "reload-trust"), "focus on #reload-trust")


def test_intune_page_shows_only_intune_profiles(driver, run):
    """The stats list every profile; the static-password profile `default` gets no card, but a line that says why."""
    status, stats = api(run, "/api/v1/admin/scep/intune/stats")
    assert status == 200
    default = next(p for p in stats["profiles"] if p["profile"] == "default")
    assert not default.get("intuneAPI") and not default["edges"] and not default["trustAnchors"], default
    go(driver, "#/intune")
    wait(driver, shown(by_testid("profile-card-corp")), "the corp card")
    note = wait(driver, shown(by_testid("not-intune")), "the line naming the profiles without a card")
    assert note.text.startswith("No card for default: not an Intune profile "), note.text
    assert not driver.find_elements(*by_testid("profile-card-default")), "a card for the static-password profile"
    assert [c.get_attribute("data-testid") for c in driver.find_elements(By.CSS_SELECTOR, "#intune-content > .card")] == ["profile-card-corp"]
    scroll_to(driver, note)
    screenshot(driver, run, "console-intune-not-intune.png")


def test_intune_card_shows_the_gate_settings(driver, run):
    """corp's card shows the gates as run.sh configured them (none at its default), the webhook's
    origin, and the RA certificate's expiry with the days left the server counts, from GET /api/v1/profiles."""
    status, profiles = api(run, "/api/v1/profiles")
    assert status == 200
    corp = next(p for p in profiles if p["name"] == "corp")
    assert len(corp["edges"]) == 1 and len(corp["edges"][0]["edges"]) == 1, corp["edges"]
    edge = corp["edges"][0]["edges"][0]
    ra = corp["edges"][0]["settings"]["ra"]

    go(driver, "#/intune")
    wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-rateLimit")) and setting(d, "corp", "rateLimit") == "5 per device per 24 h",
         "corp's rate limit: 5")
    expected = {
        "validity": "at most 30 min",
        "clockSkew": "\u00b190 s",
        "audience": "https://scep.console.test/scep/corp",
        "sanTypes": "dns, upn",
        "compliance": "http://127.0.0.1:9",
        "webhookRequests": "signed, 3 s timeout",
        "staticPassword": "set (skips the Intune checks)",
        "renewalLimit": "3 per certificate per 24 h",
    }
    assert {key: setting(driver, "corp", key) for key in expected} == expected
    expiry = setting(driver, "corp", "ra")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\n\d+ days left", expiry), expiry
    assert expiry.endswith(f"\n{corp['edges'][0]['raDaysLeft']} days left"), (expiry, corp["edges"][0])
    assert corp["edges"][0]["raBadge"] == "green", corp["edges"][0]
    assert expiry.startswith(ra["notAfter"][:10]), (expiry, ra)
    day = driver.find_element(By.CSS_SELECTOR, '[data-testid="setting-corp-ra"] time')
    assert day.get_attribute("title").startswith(ra["notAfter"].replace("T", " ").replace("Z", " UTC")), day.get_attribute("title")
    section = driver.find_element(*by_testid("settings-corp"))
    assert "console-test" not in section.text, "the webhook's query is shown"
    assert section.find_element(By.CSS_SELECTOR, "p.note").text == f"As the live edge {edge} reports them."
    assert not driver.find_elements(*by_testid("settings-disagree-corp"))
    card = driver.find_element(*by_testid("profile-card-corp"))
    assert card.find_element(By.CSS_SELECTOR, ".card-mode").text.startswith("signed-challenge mode: ")
    scroll_to(driver, card)
    screenshot(driver, run, "console-intune-settings-1280.png")
    check_narrow(driver, run, section, "console-intune-settings-narrow.png")


def test_intune_card_warns_when_the_edges_disagree(driver, run):
    """Two groups of edges with other settings for corp (put into the page's fetch): a red warning
    names each group's values, and the list marks those values "differs"."""
    fake_profiles(driver, """
            const corp = list.find((p) => p.name === 'corp');
            const group = corp.edges[0], settings = group.settings;
            const other = (rateLimit, clockSkewSeconds) => Object.assign({}, settings,
              { signedChallenge: Object.assign({}, settings.signedChallenge, { rateLimit, clockSkewSeconds }) });
            corp.edges = [Object.assign({}, group, { edges: ['edge-odd'], settings: other(10, 120) }),
              Object.assign({}, group, { edges: ['edge-0', 'edge-1'], settings: other(3, 90) })];""")
    try:
        reopen_intune(driver)
        warning = wait(driver, shown(by_testid("settings-disagree-corp")), "the warning that corp's edges disagree")
        groups = [li.text for li in warning.find_elements(*by_testid("settings-group-corp"))]
        assert groups == ["edge-odd: rate limit 10, clock skew \u00b12 min", "edge-0, edge-1: rate limit 3, clock skew \u00b190 s"], groups
        # The anchors' warning's look: a red callout led by the badge "Edges disagree".
        assert {"callout", "callout-bad"} <= set(warning.get_attribute("class").split())
        lead = warning.find_element(By.CSS_SELECTOR, "p > .badge")
        assert lead.text == "Edges disagree" and "badge-red" in lead.get_attribute("class").split()
        assert setting(driver, "corp", "rateLimit") == "differs" and setting(driver, "corp", "clockSkew") == "differs"
        assert setting(driver, "corp", "audience") == "https://scep.console.test/scep/corp", "a value the edges agree on"
        scroll_to(driver, driver.find_element(*by_testid("profile-card-corp")))
        screenshot(driver, run, "console-intune-disagree.png")
        check_narrow(driver, run, warning, "console-intune-disagree-narrow.png")
    finally:
        restore_fetch(driver)
    # Two groups that differ only in a setting the console does not know (an edge of a later release).
    fake_profiles(driver, """
            const corp = list.find((p) => p.name === 'corp');
            const group = corp.edges[0], settings = group.settings;
            corp.edges = [Object.assign({}, group, { edges: ['edge-new'], settings: Object.assign({ laterSetting: 1 }, settings) }),
              Object.assign({}, group, { edges: ['edge-0'] })];""")
    try:
        reopen_intune(driver)
        warning = wait(driver, shown(by_testid("settings-disagree-corp")), "the warning for a setting the console does not show")
        groups = [li.text for li in warning.find_elements(*by_testid("settings-group-corp"))]
        assert groups == ["edge-new: a setting this console does not show", "edge-0: a setting this console does not show"], groups
        assert setting(driver, "corp", "rateLimit") == "5 per device per 24 h"
    finally:
        restore_fetch(driver)
    reopen_intune(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-rateLimit")) and not d.find_elements(*by_testid("settings-disagree-corp")),
         "corp's own settings again, without the warning")


def test_intune_cards_follow_the_intune_mode_the_edges_report(driver, run):
    """Which profiles get a card comes from the Intune mode the edges report, not from the stats:
    default reported in signed-challenge mode gets one (the stats show it no trust anchor), corp
    reported as off loses its own; with no edge reporting corp, the stats' guess keeps its card."""
    fake_profiles(driver, """
            const corp = list.find((p) => p.name === 'corp');
            const other = list.find((p) => p.name === 'default');
            [corp.edges, other.edges] = [
              corp.edges.map((g) => Object.assign({}, g, { settings: Object.assign({}, g.settings, { intuneMode: 'off', signedChallenge: undefined }) })),
              corp.edges];""")
    try:
        reopen_intune(driver)
        wait(driver, shown(by_testid("profile-card-default")), "a card for default")
        wait(driver, gone(by_testid("profile-card-corp")), "corp's card to go")
        assert setting(driver, "default", "rateLimit") == "5 per device per 24 h"
        assert driver.find_element(*by_testid("not-intune")).text.startswith("No card for corp: ")
    finally:
        restore_fetch(driver)
    fake_profiles(driver, "list.find((p) => p.name === 'corp').edges = [];")
    try:
        reopen_intune(driver)
        wait(driver, text_matches(css('[data-testid="settings-corp"] .section-body'), r"^No live edge serves this profile"),
             "corp's settings: no live edge reports them")
        assert driver.find_element(*by_testid("profile-card-corp")).is_displayed(), "the stats' guess dropped corp's card"
        assert not driver.find_elements(*by_testid("profile-card-default"))
    finally:
        restore_fetch(driver)
    reopen_intune(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-rateLimit")), "corp's settings again")
    assert [c.get_attribute("data-testid") for c in driver.find_elements(By.CSS_SELECTOR, "#intune-content > .card")] == ["profile-card-corp"]


def test_intune_api_card_shows_the_tenant_client_and_replay_window(driver, run):
    """An intune-api profile (corp made one in the page's fetch): the tenant and client from the
    control plane, the edges' replay window, and no signed-challenge gates."""
    fake_profiles(driver, """
            const corp = list.find((p) => p.name === 'corp');
            corp.intune = { mode: 'intune-api', tenantID: 'contoso.onmicrosoft.com', clientID: '6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
              credential: 'secret', clientSecret: 'set', loginURL: 'https://login.microsoftonline.com',
              graphURL: 'https://graph.microsoft.com', resourceURL: 'https://api.manage.microsoft.com', timeoutSeconds: 10 };
            corp.edges = corp.edges.map((g) => Object.assign({}, g, { settings: { ra: g.settings.ra, intuneMode: 'intune-api',
              replayWindowSeconds: 3660, renewalLimit: g.settings.renewalLimit } }));""")
    try:
        reopen_intune(driver)
        wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-replayWindow")) and setting(d, "corp", "replayWindow") == "61 min",
             "corp's replay window")
        assert setting(driver, "corp", "tenant") == "contoso.onmicrosoft.com"
        assert setting(driver, "corp", "client") == "6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"
        assert setting(driver, "corp", "credential") == "client secret"
        assert setting(driver, "corp", "staticPassword") == "none"
        assert not driver.find_elements(*by_testid("setting-corp-rateLimit")), "signed-challenge gates on an intune-api card"
        assert not driver.find_elements(*by_testid("settings-no-credentials-corp")), "the control plane has the credentials"
        card = driver.find_element(*by_testid("profile-card-corp"))
        assert card.find_element(By.CSS_SELECTOR, ".card-mode").text.startswith("intune-api mode: ")
        scroll_to(driver, card)
        screenshot(driver, run, "console-intune-api-settings-1280.png")
    finally:
        restore_fetch(driver)
    reopen_intune(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-rateLimit")), "corp's own settings again")


def test_intune_card_warns_when_the_control_plane_lacks_intune_api_credentials(driver, run):
    """Edges that run corp in intune-api mode while the control plane's entry has no `intune`
    (answers altered in the page's fetch): a red warning, in the look of Edges disagree, names
    those edges and the variables to set on the control plane; the card's first line says the
    modes differ. With a second group of edges in signed-challenge mode, only the first is named."""
    status, profiles = api(run, "/api/v1/profiles")
    assert status == 200
    edge = next(p for p in profiles if p["name"] == "corp")["edges"][0]["edges"][0]
    intune_api = """(g) => Object.assign({}, g, { settings: { ra: g.settings.ra, intuneMode: 'intune-api',
              replayWindowSeconds: 3660, renewalLimit: g.settings.renewalLimit } })"""
    fake_profiles(driver, f"""
            const corp = list.find((p) => p.name === 'corp');
            delete corp.intune;
            corp.edges = corp.edges.map({intune_api});""")
    try:
        reopen_intune(driver)
        warning = wait(driver, shown(by_testid("settings-no-credentials-corp")), "the warning that the control plane lacks corp's credentials")
        assert {"callout", "callout-bad"} <= set(warning.get_attribute("class").split())
        lead = warning.find_element(By.CSS_SELECTOR, "p > .badge")
        assert lead.text == "No intune-api credentials" and "badge-red" in lead.get_attribute("class").split()
        text = warning.text
        assert f"The live edge {edge} runs this profile in intune-api mode, but the control plane has no intune-api credentials for it" in text, text
        assert [li.text for li in warning.find_elements(By.TAG_NAME, "li")] == [
            "SCEPTER_PROFILE_CORP_INTUNE_MODE=intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID and SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID: the tenant and the app registration",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET_FILE, or SCEPTER_PROFILE_CORP_INTUNE_CLIENT_CERT_PATH with "
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_KEY_PATH: its credential"], text
        card = driver.find_element(*by_testid("profile-card-corp"))
        assert card.find_element(By.CSS_SELECTOR, ".card-mode").text.startswith("Not every edge, or not the control plane, "), \
            card.find_element(By.CSS_SELECTOR, ".card-mode").text
        assert not driver.find_elements(*by_testid("settings-disagree-corp")), "one group of edges: nothing disagrees"
        assert not driver.find_elements(*by_testid("setting-corp-tenant")), "a tenant shown without the control plane's intune"
        scroll_to(driver, card)
        screenshot(driver, run, "console-intune-no-credentials.png")
        check_narrow(driver, run, warning, "console-intune-no-credentials-narrow.png")
    finally:
        restore_fetch(driver)
    # A rollout half done: edge-new in intune-api mode, edge-old still in signed-challenge mode.
    fake_profiles(driver, f"""
            const corp = list.find((p) => p.name === 'corp');
            delete corp.intune;
            corp.edges = [Object.assign({{}}, ({intune_api})(corp.edges[0]), {{ edges: ['edge-new'] }}),
              Object.assign({{}}, corp.edges[0], {{ edges: ['edge-old'] }})];""")
    try:
        reopen_intune(driver)
        warning = wait(driver, text_matches(by_testid("settings-no-credentials-corp"), r"The live edge edge-new runs this profile in intune-api mode"),
                       "the warning naming edge-new only")
        assert "edge-old" not in warning.text, warning.text
        assert driver.find_element(*by_testid("settings-disagree-corp")).is_displayed(), "the edges' modes differ"
    finally:
        restore_fetch(driver)
    reopen_intune(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-rateLimit")) and not d.find_elements(*by_testid("settings-no-credentials-corp")),
         "corp's own settings again, without the warning")


def test_intune_failures_table_fits_a_1280_window(driver, run):
    """The recent failures, Meaning and what to check included, fit 1280 px without a sideways scroll."""
    assert driver.execute_script("return [window.innerWidth, window.innerHeight];") == list(WIDE)
    go(driver, "#/intune")
    row = wait(driver, shown(css('[data-testid="profile-card-corp"] [data-testid="failure-row"]')), "corp's failure row")
    scroll_to(driver, row.find_element(By.XPATH, "ancestor::section[contains(@class, 'card-section')]"))
    wrap = row.find_element(By.XPATH, "ancestor::div[contains(@class, 'table-wrap')]")
    widths = driver.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth];", wrap)
    assert widths[0] <= widths[1] + 1, f"the failures table scrolls sideways: scrollWidth {widths[0]} > clientWidth {widths[1]}"
    hint = row.find_element(By.CSS_SELECTOR, "td.hint-cell")
    right = driver.execute_script("return arguments[0].getBoundingClientRect().right;", hint)
    assert right <= driver.execute_script("return window.innerWidth;"), f"Meaning and what to check ends at {right} px"
    assert hint.text.startswith("Not an Intune challenge") and "Check: " in hint.text, hint.text
    assert run.seed("console-intruder").report["transactionID"] in row.text, row.text
    screenshot(driver, run, "console-intune-failures-1280.png")

    # The widest row an Intune refusal makes: a long label, a device name over its claim subject (a
    # GUID), and in its More an IPv6 source and a CSR with many long SANs (one line, no spaces).
    fake_stats(driver, """
            const corp = stats.profiles.find((p) => p.profile === 'corp');
            corp.recentFailures.unshift(Object.assign({}, corp.recentFailures[0], {
              outcome: 'unsupported_algorithm', failInfo: 'badAlg', deviceName: 'DESKTOP-LONGDEVICENAME-0042',
              claimSubject: '3f2b9c1e-8d4a-4b7e-9f06-2c5d8e1a7b44',
              claimIssuer: 'https://connector.contoso-intune-production.example/scep/issuer/7c1d5e8a',
              csrSubject: 'CN=DESKTOP-LONGDEVICENAME-0042,OU=Intune Managed Devices,O=Contoso Manufacturing Ltd,C=GB',
              csrSANs: 'DNS:desktop-longdevicename-0042.corp.contoso-manufacturing.example,'
                + 'UPN:first.middle.lastname@contoso-manufacturing.onmicrosoft.com,'
                + 'URI:IntuneDeviceId://3f2b9c1e-8d4a-4b7e-9f06-2c5d8e1a7b44,'
                + 'email:first.middle.lastname@contoso-manufacturing.example',
              sourceAddress: '2001:db8:85a3:1234:5678:8a2e:370:7334',
              details: 'the CSR is signed with an algorithm this profile does not accept (ecdsa-with-SHA1)' }));""")
    try:
        reopen_intune(driver)  # opening the page again redraws the failures at once
        wait(driver, lambda d: len(d.find_elements(*by_testid("failure-row"))) == 2, "the two failure rows")
        wrap = driver.find_element(By.CSS_SELECTOR, '[data-testid="profile-card-corp"] table.failures').find_element(By.XPATH, "..")
        widths = driver.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth];", wrap)
        assert widths[0] <= widths[1] + 1, f"a long row widens the failures table: scrollWidth {widths[0]} > clientWidth {widths[1]}"
        # Each row's More opened: the long SANs wrap inside Details, Meaning stays in the window.
        for summary in wrap.find_elements(By.CSS_SELECTOR, "details.more > summary"):
            summary.click()
        long_row = driver.find_elements(*by_testid("failure-row"))[0]
        more = wait(driver, shown((By.CSS_SELECTOR, '[data-testid="failure-row"] details.more[open] dl')), "the long row's opened More")
        assert len(more.find_elements(By.CSS_SELECTOR, "dd li")) == 4, more.text
        assert len(wrap.find_elements(By.CSS_SELECTOR, "details.more[open]")) == 2
        widths = driver.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth];", wrap)
        assert widths[0] <= widths[1] + 1, f"an opened More widens the failures table: scrollWidth {widths[0]} > clientWidth {widths[1]}"
        right = driver.execute_script("return arguments[0].getBoundingClientRect().right;", long_row.find_element(By.CSS_SELECTOR, "td.hint-cell"))
        assert right <= driver.execute_script("return window.innerWidth;"), f"Meaning and what to check ends at {right} px"
        # Each term over its value: a value has the column's width, not what a term beside it leaves.
        values = [driver.execute_script("return arguments[0].getBoundingClientRect().width;", dd) for dd in more.find_elements(By.TAG_NAME, "dd")]
        assert min(values) >= 200, f"the More's values are {values} px wide"
        scroll_to(driver, wrap)
        screenshot(driver, run, "console-intune-failures-long-1280.png")
    finally:
        restore_fetch(driver)


def test_intune_failure_more_holds_the_csr_against_the_claim(driver, run):
    """A recent failure's More shows the source address, the claim and the CSR's subject and SANs
    (the seeded refusal: its CSR subject and address, from the server; a claim_mismatch put into
    the page's fetch: all of them), and stays open when the table is redrawn."""
    reopen_intune(driver)
    row = wait(driver, shown(css('[data-testid="profile-card-corp"] [data-testid="failure-row"]')), "corp's failure row")
    # The static password was wrong: no claim, only what the device sent and from where.
    assert more_fields(driver, row) == [("Source address", "127.0.0.1"), ("CSR subject", f"CN={run.seed('console-intruder').cn}")]

    fake_stats(driver, """
            const corp = stats.profiles.find((p) => p.profile === 'corp');
            corp.recentFailures.unshift(Object.assign({}, corp.recentFailures[0], {
              outcome: 'claim_mismatch', failInfo: 'badRequest', transactionID: 'mismatch-0001', deviceName: 'LAPTOP-7',
              claimSubject: 'LAPTOP-7', claimIssuer: 'CN=Contoso Intune Connector', csrSubject: 'CN=LAPTOP-8',
              csrSANs: 'DNS:laptop-8.corp.example,URI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512',
              sourceAddress: '10.20.30.40',
              details: 'CN LAPTOP-8 is not the claim subject LAPTOP-7' }));""")
    try:
        reopen_intune(driver)
        wait(driver, lambda d: len(d.find_elements(*by_testid("failure-row"))) == 2, "the claim_mismatch row")
        mismatch = driver.find_elements(*by_testid("failure-row"))[0]
        assert "claim_mismatch" in mismatch.text, mismatch.text
        scroll_to(driver, mismatch)
        assert more_fields(driver, mismatch) == [
            ("Source address", "10.20.30.40"), ("Claim subject", "LAPTOP-7"), ("Claim issuer", "CN=Contoso Intune Connector"),
            ("CSR subject", "CN=LAPTOP-8"),
            # One name a line; the comma in Intune's SID URI parts nothing.
            ("CSR SANs", "DNS:laptop-8.corp.example\nURI:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512")]
        screenshot(driver, run, "console-intune-failure-more.png")

        # A redraw (opening the page again, as the 60 s timer does) keeps an opened More open.
        reopen_intune(driver)
        wait(driver, staleness_of(mismatch), "the failures table to be redrawn")
        redrawn = wait(driver, shown(css('[data-testid="failure-row"]:first-child details.more')), "the redrawn row's More")
        assert redrawn.get_attribute("open") is not None, "the redraw closed the opened More"
        check_narrow(driver, run, redrawn, "console-intune-failure-more-narrow.png")
    finally:
        restore_fetch(driver)


def test_intune_marks_its_figures_out_of_date_after_a_failed_refresh(driver, run):
    """A refresh answered with a 5xx keeps the cards, marked with the time their figures are from, as the overview does."""
    go(driver, "#/intune")
    status_line = wait(driver, text_matches(css("#intune-status"), r"^Counters as of .+ UTC;"), "the Intune status line")
    as_of = re.match(r"^Counters as of (.+ UTC);", status_line.text).group(1)
    successes = driver.find_element(*by_testid("count-corp-success-24h")).text
    fake_outage(driver, '/api/v1/admin/scep/intune/stats')
    try:
        # Opening the page loads it again, as its 30 s timer does.
        go(driver, "#/overview")
        wait(driver, shown(css("#page-overview")), "the overview")
        go(driver, "#/intune")
        stale = wait(driver, text_matches(css("#intune-status"), r"^Out of date: the refresh at .+ UTC failed\. "),
                     "the Intune page's out-of-date line")
        assert stale.text.endswith(f"The figures below are as of {as_of}."), stale.text
        assert "status-error" in stale.get_attribute("class").split()
        assert "stale" in driver.find_element(By.ID, "intune-content").get_attribute("class").split()
        assert driver.find_element(*by_testid("count-corp-success-24h")).text == successes, "the figures were not kept"
        assert driver.find_element(By.ID, "error-text").text == "Intune stats: the database is unreachable"
        screenshot(driver, run, "console-intune-stale.png")
    finally:
        restore_fetch(driver)
    go(driver, "#/overview")
    wait(driver, shown(css("#page-overview")), "the overview")
    go(driver, "#/intune")
    wait(driver, text_matches(css("#intune-status"), r"^Counters as of "), "the status line after a good refresh")
    assert "stale" not in driver.find_element(By.ID, "intune-content").get_attribute("class").split()


def test_profiles_page_lists_every_profile_with_its_policy_and_ra_certificate(driver, run):
    """The Profiles page lists both of run.sh's profiles, the static-password `default` and the
    signed-challenge `corp`, each with its issuer, certificate policy and settings on the edges
    (the RA certificate's expiry with the days the server counts) as GET /api/v1/profiles has them;
    corp's line links to its Intune card."""
    status, profiles = api(run, "/api/v1/profiles")
    assert status == 200
    assert [p["name"] for p in profiles] == ["corp", "default"]
    driver.find_element(By.ID, "nav-profiles").click()
    wait(driver, shown(by_testid("profiles-card-default")), "default's card")
    wait(driver, text_matches(css("#profiles-status"), r"^As of .+ UTC\.$"), "the Profiles page's 'As of' line")
    assert driver.find_element(By.ID, "nav-profiles").get_attribute("aria-current") == "page"
    assert [c.get_attribute("data-testid") for c in driver.find_elements(By.CSS_SELECTOR, "#profiles-content > .card")] == [
        "profiles-card-corp", "profiles-card-default"]

    for profile in profiles:
        name, issuer, policy = profile["name"], profile["issuer"], profile["policy"]
        # run.sh sets no certificate policy: both have the defaults (docs/ca.md), KEY_USAGE unset.
        assert policy == {"allowedEKUs": ["clientAuth"], "minRSABits": 2048, "validitySeconds": 365 * 86400}, policy
        assert {key: profile_setting(driver, name, key) for key in ("certValidity", "maxValidity", "ekus", "minRSABits", "keyUsage")} == {
            "certValidity": "365 days",
            "maxValidity": "none (the CA\u2019s notAfter caps it)",
            "ekus": "clientAuth",
            "minRSABits": "2048 bits",
            "keyUsage": "digitalSignature, plus keyEncipherment for RSA keys (the default)",
        }, name
        assert profile_setting(driver, name, "issuerName") == issuer["name"]
        assert profile_setting(driver, name, "issuerSubject") == issuer["subject"]
        # The issuing CA's days left as the server counts them; green, so no badge.
        assert issuer["badge"] == "green", issuer
        assert profile_setting(driver, name, "issuerNotAfter") == (
            f"{issuer['notAfter'].replace('T', ' ').replace('Z', ' UTC')}\n{issuer['daysLeft']} days left")
        assert not driver.find_elements(By.CSS_SELECTOR, f'[data-testid="profiles-setting-{name}-issuerNotAfter"] .badge')

        assert len(profile["edges"]) == 1, profile["edges"]
        group = profile["edges"][0]
        settings = group["settings"]
        assert group["raBadge"] == "green" and settings["challengePassword"] == "set", group
        assert profile_setting(driver, name, "ra") == f"{settings['ra']['notAfter'][:10]}\n{group['raDaysLeft']} days left"
        assert profile_setting(driver, name, "renewalLimit") == f"{settings['renewalLimit']} per certificate per 24 h"
        assert profile_setting(driver, name, "mode") == settings["intuneMode"]
        card = driver.find_element(*by_testid(f"profiles-card-{name}"))
        assert card.find_element(By.CSS_SELECTOR, "p.note").text == f"As the live edge {group['edges'][0]} reports them."
        assert not card.find_elements(*by_testid(f"profiles-settings-disagree-{name}"))
        # An Intune profile's gates stay on its Intune card.
        assert not card.find_elements(*by_testid(f"profiles-setting-{name}-rateLimit"))
    assert profile_setting(driver, "default", "staticPassword") == "set"
    assert profile_setting(driver, "corp", "staticPassword") == "set (skips the Intune checks)"
    assert profile_setting(driver, "default", "mode") == "off" and profile_setting(driver, "corp", "mode") == "signed-challenge"
    assert not driver.find_elements(*by_testid("profiles-intune-default")), "an Intune line for the static-password profile"
    assert not driver.find_elements(*by_testid("profiles-expiry-warning")), "a warning with every RA certificate and CA green"
    assert no_horizontal_scroll(driver), driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
    screenshot(driver, run, "console-profiles.png")
    check_narrow(driver, run, driver.find_element(*by_testid("profiles-card-default")), "console-profiles-narrow.png")

    # corp's link opens the Intune page with corp's card at the top of the window.
    link = driver.find_element(By.CSS_SELECTOR, '[data-testid="profiles-intune-corp"] a')
    assert link.get_attribute("href").endswith("#/intune?profile=corp")
    scroll_to(driver, link)
    link.click()
    wait(driver, shown(by_testid("profile-card-corp")), "the corp card")
    wait(driver, lambda d: abs(d.execute_script(
        "return document.querySelector('[data-testid=\"profile-card-corp\"]').getBoundingClientRect().top;")) < 2,
        "corp's Intune card at the top of the window")


def test_profiles_page_badges_an_ra_certificate_that_expires_soon(driver, run):
    """default's RA certificate with 10 days left (the server's answer altered in the page's fetch):
    its card shows the date, the days left and the amber badge Renew soon, and a warning above the
    cards names it."""
    not_after = utc_in(10.5)
    fake_profiles(driver, """
            const group = list.find((p) => p.name === 'default').edges[0];
            group.raDaysLeft = 10;
            group.raBadge = 'amber';
            group.settings.ra.notAfter = '%s';""" % not_after)
    try:
        reopen_profiles(driver)
        wait(driver, shown(by_testid("profiles-expiry-warning")), "the RA certificates' warning")
        assert profile_setting(driver, "default", "ra") == f"{not_after[:10]}\n10 days left Renew soon"
        badge = driver.find_element(By.CSS_SELECTOR, '[data-testid="profiles-setting-default-ra"] .badge')
        assert badge.get_attribute("data-badge") == "amber" and "badge-amber" in badge.get_attribute("class").split()
        assert badge.get_attribute("title") == "7 to 29 days left"
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-setting-corp-ra"] .badge'), "a badge on corp's green RA"
        warning = driver.find_element(*by_testid("profiles-expiry-warning"))
        assert {"callout", "callout-warn"} <= set(warning.get_attribute("class").split())
        assert warning.text.startswith("An RA certificate expires within 30 days or has expired. "), warning.text
        assert not warning.find_elements(*by_testid("profiles-expiry-ca")), "an issuing CA listed while every CA is green"
        items = [li.text for li in warning.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ra"] > li')]
        assert items == [f"default: Renew soon expires {not_after.replace('T', ' ').replace('Z', ' UTC')} (10 days left)"], items
        scroll_to(driver, warning)
        screenshot(driver, run, "console-profiles-ra-amber.png")
    finally:
        restore_fetch(driver)
    reopen_profiles(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("profiles-card-default")) and not d.find_elements(*by_testid("profiles-expiry-warning")),
         "default's own RA certificate again, without the warning")


def test_profiles_page_shows_both_certificates_of_a_split_ra(driver, run):
    """default's RA split in two (the server's answer altered in the page's fetch), its signing
    certificate with 10 days left: the card shows the encryption and the signing certificate, each
    with its date, the days left and the badge on the signing one, which expires first; the warning
    above the cards gives that one's date."""
    not_after = utc_in(10.5)
    fake_profiles(driver, """
            const group = list.find((p) => p.name === 'default').edges[0];
            group.raDaysLeft = 10;
            group.raBadge = 'amber';
            group.settings.raSigning = { subject: 'CN=Split RA,O=Scepter', fingerprint: 'ab'.repeat(32), notAfter: '%s' };""" % not_after)
    try:
        reopen_profiles(driver)
        wait(driver, shown(by_testid("profiles-setting-default-raSigning")), "the RA signing certificate's row")
        encryption = driver.find_element(By.CSS_SELECTOR, '[data-testid="profiles-setting-default-ra"]')
        assert encryption.find_element(By.TAG_NAME, "dt").text == "RA encryption certificate expires", encryption.text
        assert "days left" not in profile_setting(driver, "default", "ra"), profile_setting(driver, "default", "ra")
        assert profile_setting(driver, "default", "raSigning") == f"{not_after[:10]}\n10 days left Renew soon"
        items = [li.text for li in driver.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ra"] > li')]
        assert items == [f"default: Renew soon expires {not_after.replace('T', ' ').replace('Z', ' UTC')} (10 days left)"], items
        assert profile_setting(driver, "corp", "ra").endswith("days left"), "corp's single RA keeps its one row"
        assert not driver.find_elements(*by_testid("profiles-setting-corp-raSigning"))
        scroll_to(driver, encryption)
        screenshot(driver, run, "console-profiles-split-ra.png")
    finally:
        restore_fetch(driver)
    reopen_profiles(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("profiles-card-default"))
         and not d.find_elements(*by_testid("profiles-setting-default-raSigning")), "default's own single RA again")


def test_profiles_page_badges_an_issuing_ca_that_expires_soon(driver, run):
    """The issuing CA with 10 days left (the server's answer altered in the page's fetch): both
    cards show its notAfter, the days left and the amber badge Renew soon, and the warning above the
    cards names the CA once, with both profiles. Then default alone on an expired CA: its card says
    Expired, corp's green CA has no badge, and the warning names only the expired one."""
    not_after = utc_in(10.5)
    fake_profiles(driver, """
            for (const p of list) Object.assign(p.issuer, { notAfter: '%s', daysLeft: 10, badge: 'amber' });""" % not_after)
    try:
        reopen_profiles(driver)
        warning = wait(driver, shown(by_testid("profiles-expiry-warning")), "the warning above the cards")
        when = not_after.replace("T", " ").replace("Z", " UTC")
        for name in ("corp", "default"):
            assert profile_setting(driver, name, "issuerNotAfter") == f"{when}\n10 days left Renew soon", name
            badge = driver.find_element(By.CSS_SELECTOR, f'[data-testid="profiles-setting-{name}-issuerNotAfter"] .badge')
            assert badge.get_attribute("data-badge") == "amber" and "badge-amber" in badge.get_attribute("class").split()
            assert badge.get_attribute("title") == "7 to 29 days left"
        assert warning.text.startswith("An issuing CA expires within 30 days or has expired. "), warning.text
        assert "CA rollover" in warning.text, warning.text
        assert not warning.find_elements(*by_testid("profiles-expiry-ra")), "an RA certificate listed while every RA is green"
        items = [li.text for li in warning.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ca"] > li')]
        assert items == [f"dev (profiles corp, default): Renew soon expires {when} (10 days left)"], items
        scroll_to(driver, warning)
        screenshot(driver, run, "console-profiles-ca-amber.png")
        check_narrow(driver, run, warning, "console-profiles-ca-amber-narrow.png")
    finally:
        restore_fetch(driver)

    expired = utc_in(-1.5)
    fake_profiles(driver, """
            Object.assign(list.find((p) => p.name === 'default').issuer,
              { name: 'old-ca', notAfter: '%s', daysLeft: -2, badge: 'expired' });""" % expired)
    try:
        reopen_profiles(driver)
        warning = wait(driver, shown(by_testid("profiles-expiry-warning")), "the warning above the cards")
        when = expired.replace("T", " ").replace("Z", " UTC")
        assert profile_setting(driver, "default", "issuerNotAfter") == f"{when}\nexpired 2 days ago Expired"
        assert driver.find_element(
            By.CSS_SELECTOR, '[data-testid="profiles-setting-default-issuerNotAfter"] .badge').get_attribute("data-badge") == "expired"
        assert re.fullmatch(r".+ UTC\n\d+ days left", profile_setting(driver, "corp", "issuerNotAfter")), "corp's green CA"
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-setting-corp-issuerNotAfter"] .badge'), "a badge on a green CA"
        items = [li.text for li in warning.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ca"] > li')]
        assert items == [f"old-ca (profile default): Expired expired {when} (2 days ago)"], items
    finally:
        restore_fetch(driver)
    reopen_profiles(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("profiles-card-default")) and not d.find_elements(*by_testid("profiles-expiry-warning")),
         "the real answer again, without the warning")


def test_profiles_page_says_when_the_edges_disagree_or_are_unknown(driver, run):
    """Two groups of edges for corp with other renewal limits and RA certificates: the red Edges
    disagree warning names both, the list says "differs". No `edges` (Redis unreachable) and an
    empty one (no live edge) each get their note, and the policy and issuer still show."""
    fake_profiles(driver, """
            const corp = list.find((p) => p.name === 'corp');
            const group = corp.edges[0];
            const other = Object.assign({}, group.settings, { renewalLimit: 0,
              ra: Object.assign({}, group.settings.ra, { fingerprint: 'ab'.repeat(32), notAfter: '%s' }) });
            corp.edges = [Object.assign({}, group, { edges: ['edge-new'], settings: other, raDaysLeft: 3, raBadge: 'red' }),
              Object.assign({}, group, { edges: ['edge-0', 'edge-1'] })];
            delete list.find((p) => p.name === 'default').edges;""" % utc_in(3.5))
    try:
        reopen_profiles(driver)
        warning = wait(driver, shown(by_testid("profiles-settings-disagree-corp")), "the warning that corp's edges disagree")
        groups = [li.text for li in warning.find_elements(*by_testid("profiles-settings-group-corp"))]
        assert len(groups) == 2 and groups[0].startswith("edge-new: renewal limit off, RA certificate abababababab"), groups
        assert groups[1].startswith("edge-0, edge-1: renewal limit 3, RA certificate "), groups
        assert profile_setting(driver, "corp", "renewalLimit") == "differs" and profile_setting(driver, "corp", "ra") == "differs"
        assert profile_setting(driver, "corp", "mode") == "signed-challenge", "a value the edges agree on"
        # The warning above the cards names the edges whose RA certificate expires.
        items = [li.text for li in driver.find_elements(By.CSS_SELECTOR, '[data-testid="profiles-expiry-ra"] > li')]
        assert len(items) == 1 and items[0].startswith("corp (edges edge-new): Renew now expires "), items
        card = driver.find_element(*by_testid("profiles-card-default"))
        assert card.find_element(By.CSS_SELECTOR, "p.note").text == (
            "The edges\u2019 settings are unknown: the control plane cannot read their heartbeats (Redis).")
        assert not card.find_elements(*by_testid("profiles-setting-default-ra"))
        assert profile_setting(driver, "default", "ekus") == "clientAuth"
        scroll_to(driver, driver.find_element(*by_testid("profiles-card-corp")))
        screenshot(driver, run, "console-profiles-disagree.png")
        check_narrow(driver, run, warning, "console-profiles-disagree-narrow.png")
    finally:
        restore_fetch(driver)
    fake_profiles(driver, "list.find((p) => p.name === 'default').edges = [];")
    try:
        reopen_profiles(driver)
        note = wait(driver, text_matches(css('[data-testid="profiles-card-default"] p.note'), r"^No live edge serves this profile"),
                    "default's note: no live edge")
        assert note.text == "No live edge serves this profile, so its settings on the edges are unknown."
        assert profile_setting(driver, "default", "issuerName") == "dev"
    finally:
        restore_fetch(driver)


def test_profiles_page_marks_its_cards_out_of_date_after_a_failed_refresh(driver, run):
    """A refresh answered with a 5xx keeps the cards, marked with the time they are from, as the overview does."""
    reopen_profiles(driver)
    line = wait(driver, text_matches(css("#profiles-status"), r"^As of .+ UTC\.$"), "the Profiles page's 'As of' line")
    as_of = re.match(r"^As of (.+ UTC)\.$", line.text).group(1)
    fake_outage(driver, "/api/v1/profiles")
    try:
        driver.find_element(By.ID, "profiles-refresh").click()
        stale = wait(driver, text_matches(css("#profiles-status"), r"^Out of date: the refresh at .+ UTC failed\. "),
                     "the Profiles page's out-of-date line")
        assert stale.text.endswith(f"The figures below are as of {as_of}."), stale.text
        assert "stale" in driver.find_element(By.ID, "profiles-content").get_attribute("class").split()
        assert driver.find_element(*by_testid("profiles-card-corp")).is_displayed(), "the cards were not kept"
        assert driver.find_element(By.ID, "error-text").text == "Profiles: the database is unreachable"
    finally:
        restore_fetch(driver)
    driver.find_element(By.ID, "profiles-refresh").click()
    wait(driver, lambda d: "stale" not in d.find_element(By.ID, "profiles-content").get_attribute("class").split(),
         "the mark gone after a good refresh")


def test_certificate_search_detail_and_revocation(driver, run):
    target = run.seed("console-laptop-2")
    serial = api_serial(run, target.cn)
    driver.find_element(By.ID, "nav-certificates").click()
    wait(driver, text_matches(css("#cert-status"), r"^Page 1: 4 certificates\.$"), "the first search: 4 certificates")

    device = driver.find_element(By.ID, "cert-device")
    device.clear()
    device.send_keys(target.cn)
    driver.find_element(By.ID, "cert-search").click()
    wait(driver, lambda d: len(rows(d, "cert-row-")) == 1 and d.find_elements(*by_testid(f"cert-row-{serial}")),
         f"exactly the row of {target.cn}")
    row = driver.find_element(*by_testid(f"cert-row-{serial}"))
    assert f"CN={target.cn}" in row.text and "corp" in row.text and "active" in row.text
    assert driver.find_element(By.ID, "cert-status").text == "Page 1: 1 certificate."

    row.find_element(By.CSS_SELECTOR, "td a").click()
    wait(driver, text_is(css("#cert-state-value"), "active"), "the detail: active")
    assert serial in driver.find_element(By.ID, "cert-detail-title").text
    assert f"CN={target.cn}" in driver.find_element(By.ID, "cert-detail").text
    assert len(driver.find_elements(*by_testid("cert-audit-row"))) >= 1
    screenshot(driver, run, "console-certificate.png")

    # Revoke through the dialog, reason keyCompromise.
    driver.find_element(By.ID, "revoke").click()
    wait(driver, dialog_open("revoke-dialog"), "the revoke dialog")
    assert driver.find_element(By.ID, "revoke-serial").text == serial
    Select(driver.find_element(By.ID, "revoke-reason")).select_by_value("keyCompromise")
    assert "CRLReason 1" in driver.find_element(By.ID, "revoke-reason-hint").text
    driver.find_element(By.ID, "revoke-confirm").click()
    outcome = wait(driver, text_matches(by_testid("revoke-outcome"), r"^Revoked: "), "the revocation's outcome")
    assert "reason keyCompromise, by dev" in outcome.text
    wait(driver, text_is(css("#cert-state-value"), "revoked"), "the detail: revoked")
    driver.find_element(By.ID, "revoke-cancel").click()
    wait(driver, dialog_closed("revoke-dialog"), "the revoke dialog to close")
    assert driver.find_element(*by_testid("revocation-reason")).text.startswith("keyCompromise")
    assert not driver.find_elements(By.ID, "revoke"), "a revoked certificate still offers Revoke…"

    # The list: back to it, search again, the row is revoked.
    driver.find_element(By.ID, "cert-back").click()
    wait(driver, shown(css("#page-certificates")), "the certificates page")
    driver.find_element(By.ID, "cert-search").click()
    wait(driver, text_is(css(f'[data-testid="cert-row-{serial}"] .badge'), "revoked"), "the row: revoked")

    # OCSP agrees: the corp profile's issuer answers "revoked".
    status, profiles = api(run, "/api/v1/profiles")
    assert status == 200
    issuer = next(p["issuer"]["name"] for p in profiles if p["name"] == "corp")
    ca = str(run.data_dir / "ca.pem")
    ocsp = subprocess.run(
        ["openssl", "ocsp", "-issuer", ca, "-cert", target.cert_file,
         "-url", f"{run.url}/ocsp/{issuer}", "-CAfile", ca, "-timeout", "10"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    output = ocsp.stdout + ocsp.stderr
    assert ocsp.returncode == 0, output
    assert "Response verify OK" in output, output
    assert f"{target.cert_file}: revoked" in output, output
    assert "Reason: keyCompromise" in output, output


def test_list_shows_a_revocation_without_a_new_search(driver, run):
    """Revoking from the detail page and going back should not show the old state.

    It revokes console-laptop-3.
    """
    target = run.seed("console-laptop-3")
    serial = api_serial(run, target.cn)
    driver.find_element(By.ID, "nav-certificates").click()
    device = wait(driver, shown(css("#cert-device")), "the search form")
    device.clear()
    device.send_keys(target.cn)
    driver.find_element(By.ID, "cert-search").click()
    wait(driver, lambda d: len(rows(d, "cert-row-")) == 1, "exactly one row (the search's, not the first page's)")
    wait(driver, text_is(css(f'[data-testid="cert-row-{serial}"] .badge'), "active"), "the row: active")
    driver.find_element(By.CSS_SELECTOR, f'[data-testid="cert-row-{serial}"] td a').click()
    wait(driver, shown(css("#revoke")), "Revoke…").click()
    wait(driver, dialog_open("revoke-dialog"), "the revoke dialog")
    Select(driver.find_element(By.ID, "revoke-reason")).select_by_value("cessationOfOperation")
    driver.find_element(By.ID, "revoke-confirm").click()
    wait(driver, text_matches(by_testid("revoke-outcome"), r"^Revoked: "), "the revocation's outcome")
    driver.find_element(By.ID, "revoke-cancel").click()
    wait(driver, dialog_closed("revoke-dialog"), "the revoke dialog to close")
    driver.find_element(By.ID, "cert-back").click()
    wait(driver, shown(css("#page-certificates")), "the certificates page")
    badge = driver.find_element(By.CSS_SELECTOR, f'[data-testid="cert-row-{serial}"] .badge')
    assert badge.text == "revoked", f"the list still shows {badge.text!r} for the certificate just revoked"


def test_a_revoked_certificate_shows_no_days_left(driver, run):
    """Days left count a validity; a revoked certificate has none (console-laptop-2, revoked above)."""
    not_after = (By.XPATH, "//div[@id='cert-detail']//dl/div[dt='Not after']/dd")
    go(driver, f"#/certificates/{api_serial(run, 'console-laptop-1')}")
    wait(driver, text_is(css("#cert-state-value"), "active"), "an active certificate")
    assert re.search(r" UTC \(\d+ days? left\)$", driver.find_element(*not_after).text), "an active one counts its days"
    go(driver, f"#/certificates/{api_serial(run, 'console-laptop-2')}")
    wait(driver, text_is(css("#cert-state-value"), "revoked"), "the revoked certificate")
    text = driver.find_element(*not_after).text
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", text), f"Not after of a revoked certificate: {text!r}"


@pytest.mark.http_errors(404)
def test_an_unknown_serial_is_reported_once(driver, run):
    serial = "0badc0ffee0badc0ffee"
    go(driver, f"#/certificates/{serial}")
    wait(driver, text_is(css("#cert-detail-status"), f"No certificate with serial {serial} in the inventory."),
         "the unknown serial's status line")
    # The status and a banner are drawn in the same step: no banner now means none.
    assert not driver.find_element(By.ID, "error").is_displayed(), driver.find_element(By.ID, "error-text").text
    page = driver.find_element(By.ID, "main").text
    assert len(re.findall(r"no certificate|not found", page, re.I)) == 1, page
    screenshot(driver, run, "console-unknown-serial.png")


def test_profiles_page_lists_the_issuers_with_what_they_answer_for(driver, run):
    """The Issuers section under the profile cards, from its own GET /api/v1/issuers: run.sh's server
    has the one issuer dev, current for both profiles, answering for the 4 certificates enrolled (the
    tests above revoked console-laptop-2 and -3: 2 active, 2 revoked, 2 entries on its CRL), the last
    expiring with the newest seed. Its CRL link downloads dev.crl, which lists both revocations."""
    status, issuers = api(run, "/api/v1/issuers", token=run.viewer_token)
    assert status == 200 and [i["name"] for i in issuers] == ["dev"], issuers
    dev = issuers[0]
    issued = [s for s in run.seeds if s.succeeded]
    last = max(not_after_of(s.cert_file) for s in issued)
    assert dev["state"] == "current" and dev["profiles"] == ["corp", "default"], dev
    assert dev["certificates"] == {"unexpired": len(issued), "active": 2, "revoked": 2, "lastExpiry": last} and len(issued) == 4, dev
    assert dev["revocations"] == 2, dev

    ca = dev["ca"]
    assert ca["badge"] == "green", ca
    reopen_profiles(driver)
    # The section drawn before the revocations stays until the new answer: wait for the new one.
    wait(driver, lambda d: cells_of(d, "dev").get("certificates") == "4\n2 active, 2 revoked", "dev's row with the revocations")
    assert content_children(driver) == ["profiles-card-corp", "profiles-card-default", "issuers"]
    assert issuer_cells(driver, "dev") == {
        "name": "dev",
        "state": "current",
        "ca": f"{ca['subject']}\nNot after {utc_text(ca['notAfter'])}\n{ca['daysLeft']} days left",
        "profiles": "corp, default",
        "certificates": "4\n2 active, 2 revoked",
        "lastExpiry": utc_text(last),
        "revocations": "2",
        "urls": f"CRL: {dev['crlURL']}\nOCSP: {dev['ocspURL']}",
    }
    state = driver.find_element(*by_testid("issuers-state-dev"))
    assert state.get_attribute("data-state") == "current" and "badge-green" in state.get_attribute("class").split()
    # A green CA has no expiry badge, as on the profile cards.
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="issuers-dev-ca"] .badge')
    assert not driver.find_elements(*by_testid("issuers-unconfigured")) and not driver.find_elements(*by_testid("issuers-error"))
    # The table sits in a region that takes focus, as every table of the console.
    assert driver.find_element(By.CSS_SELECTOR, '[data-testid="issuers"] .table-wrap').get_attribute("tabindex") == "0"
    section = driver.find_element(*by_testid("issuers"))
    assert no_horizontal_scroll(driver)
    scroll_to(driver, section)
    screenshot(driver, run, "console-profiles-issuers.png")
    check_narrow(driver, run, section, "console-profiles-issuers-narrow.png")

    # The CRL: downloaded from the link, DER, listing both revoked certificates.
    for old in run.downloads.glob("dev*.crl"):
        old.unlink()
    link = driver.find_element(*by_testid("issuers-crl-dev"))
    assert link.get_attribute("download") == "dev.crl" and link.get_attribute("href") == f"{run.url}{dev['crlURL']}"
    scroll_to(driver, link)
    link.click()
    crl = run.downloads / "dev.crl"
    wait(driver, lambda _: crl.exists() and not list(run.downloads.glob("*.crdownload")), f"{crl}")
    text = subprocess.run(["openssl", "crl", "-inform", "DER", "-noout", "-text", "-in", str(crl)],
                          check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    for cn in ("console-laptop-2", "console-laptop-3"):
        assert f"Serial Number: {api_serial(run, cn).upper()}" in text, (cn, text)
    assert driver.find_element(By.ID, "page-profiles").is_displayed(), "the download left the page"


def test_issuers_warn_of_an_unconfigured_issuer(driver, run):
    """An issuer the inventory still holds unexpired certificates of but no longer configures (the
    answer altered in the page's fetch): a warning above the cards names it, with its certificates,
    their last expiry and the variables to set again; its row says unconfigured and has no CA. A
    subject with markup shows as text."""
    last = utc_in(200.5)
    fake_issuers(driver, """
            list.push({ name: 'main-2021', state: 'unconfigured', profiles: [], crlURL: '/crl/main-2021.crl',
              ocspURL: '/ocsp/main-2021', certificates: { unexpired: 3, active: 2, revoked: 1, lastExpiry: '%s' },
              revocations: 1 });
            list.push(Object.assign({}, list[0], { name: 'x-markup', state: 'retired', profiles: [],
              ca: Object.assign({}, list[0].ca, { subject: '<img src=x onerror="window.pwned=1">CN=Evil' }),
              crlURL: 'javascript:window.pwned=1' }));""" % last)
    try:
        reopen_profiles(driver)
        warning = wait(driver, shown(by_testid("issuers-unconfigured")), "the unconfigured issuer's warning")
        assert content_children(driver) == ["issuers-unconfigured", "profiles-card-corp", "profiles-card-default", "issuers"]
        assert {"callout", "callout-warn"} <= set(warning.get_attribute("class").split())
        assert warning.text.startswith("An issuer is not configured, yet the inventory holds unexpired certificates of it: "
                                       "its CRL and OCSP are not served"), warning.text
        assert "docs/ca.md, \u201cCA rollover\u201d" in warning.text, warning.text
        items = [li.text for li in warning.find_elements(By.CSS_SELECTOR, "li")]
        assert items == [
            f"main-2021: 3 unexpired certificates, the last valid until {utc_text(last)}. Configure it again: add main-2021 "
            "to SCEPTER_ISSUERS, set SCEPTER_ISSUER_MAIN_2021_CA_CERT_PATH and SCEPTER_ISSUER_MAIN_2021_CA_KEY_PATH to its "
            "CA\u2019s files, and restart the control plane."], items
        cells = issuer_cells(driver, "main-2021")
        assert cells["state"] == "unconfigured" and cells["ca"] == "not configured", cells
        assert cells["certificates"] == "3\n2 active, 1 revoked" and cells["lastExpiry"] == utc_text(last), cells
        assert cells["revocations"] == "1" and cells["profiles"] == "none", cells
        assert cells["urls"] == "not served (not configured)" and not driver.find_elements(*by_testid("issuers-crl-main-2021")), cells
        assert driver.find_element(*by_testid("issuers-state-main-2021")).get_attribute("data-state") == "unconfigured"
        # Markup from the answer is text; a javascript: URL is no link.
        assert issuer_cells(driver, "x-markup")["ca"].startswith('<img src=x onerror="window.pwned=1">CN=Evil\n'), issuer_cells(driver, "x-markup")
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="issuers"] img')
        assert not driver.find_elements(*by_testid("issuers-crl-x-markup"))
        assert driver.execute_script("return window.pwned === undefined;")
        scroll_to(driver, warning)
        screenshot(driver, run, "console-profiles-issuers-unconfigured.png")
        check_narrow(driver, run, warning, "console-profiles-issuers-unconfigured-narrow.png")
    finally:
        restore_fetch(driver)
    reopen_profiles(driver)
    wait(driver, lambda d: d.find_elements(*by_testid("issuers-row-dev")) and not d.find_elements(*by_testid("issuers-unconfigured")),
         "the real issuers again, without the warning")


def test_issuers_say_when_they_cannot_be_read(driver, run):
    """GET /api/v1/issuers answered with a 503: the section says so with the server's message and
    shows no count, while the profile cards show as current and no banner is raised."""
    fake_outage(driver, "/api/v1/issuers")
    try:
        reopen_profiles(driver)
        error = wait(driver, shown(by_testid("issuers-error")), "the Issuers section's error")
        assert error.text == "Issuers could not be read: the database is unreachable"
        wait(driver, text_matches(css("#profiles-status"), r"^As of .+ UTC\.$"), "the Profiles page's 'As of' line")
        assert content_children(driver) == ["profiles-card-corp", "profiles-card-default", "issuers"]
        assert "stale" not in driver.find_element(By.ID, "profiles-content").get_attribute("class").split()
        assert profile_setting(driver, "default", "issuerName") == "dev"
        assert not driver.find_element(By.ID, "error").is_displayed(), driver.find_element(By.ID, "error-text").text
        section = driver.find_element(*by_testid("issuers"))
        assert not section.find_elements(By.TAG_NAME, "table") and not re.search(r"\b0\b", section.text), section.text
        scroll_to(driver, section)
        screenshot(driver, run, "console-profiles-issuers-error.png")
    finally:
        restore_fetch(driver)
    driver.find_element(By.ID, "profiles-refresh").click()
    wait(driver, shown(by_testid("issuers-row-dev")), "the Issuers table after a good refresh")


def test_issuers_show_a_retired_issuer_with_none_left(driver, run, retired_issuer_dev):
    """A second scepter dev (conftest) configures an issuer `old` that no profile uses, as after a
    CA rollover, with no certificate: its row says retired, no profile, 0 unexpired and "none left —
    may be removed"; dev, current with no certificate, says "none left" only."""
    server = retired_issuer_dev
    status, issuers = api(server, "/api/v1/issuers")
    assert status == 200 and [(i["name"], i["state"]) for i in issuers] == [("dev", "current"), ("old", "retired")], issuers
    old = issuers[1]
    assert old["profiles"] == [] and old["certificates"] == {"unexpired": 0, "active": 0, "revoked": 0}, old
    sign_out(driver)
    try:
        sign_in(driver, server, server.admin_token, "admin")
        go(driver, "#/profiles")
        wait(driver, shown(by_testid("issuers-row-old")), "old's row")
        assert issuer_cells(driver, "old") == {
            "name": "old",
            "state": "retired",
            "ca": f"CN=Console Test Retired CA\nNot after {utc_text(old['ca']['notAfter'])}\n{old['ca']['daysLeft']} days left",
            "profiles": "none",
            "certificates": "0\n0 active, 0 revoked",
            "lastExpiry": "none left \u2014 may be removed",
            "revocations": "0",
            "urls": "CRL: /crl/old.crl\nOCSP: /ocsp/old",
        }
        state = driver.find_element(*by_testid("issuers-state-old"))
        assert state.get_attribute("data-state") == "retired" and "badge-grey" in state.get_attribute("class").split()
        assert issuer_cells(driver, "dev")["lastExpiry"] == "none left"
        assert not driver.find_elements(*by_testid("issuers-unconfigured"))
        section = driver.find_element(*by_testid("issuers"))
        scroll_to(driver, section)
        screenshot(driver, run, "console-profiles-issuers-retired.png")
        check_narrow(driver, run, section, "console-profiles-issuers-retired-narrow.png")
    finally:
        sign_out(driver)
        sign_in(driver, run, run.admin_token, "admin")


def test_audit_filter_and_csv_export(driver, run):
    refused = run.seed("console-intruder")
    driver.find_element(By.ID, "nav-audit").click()
    wait(driver, text_matches(css("#audit-status"), r"^Page 1: \d+ events"), "the first audit search")
    Select(driver.find_element(By.ID, "audit-outcome")).select_by_value("challenge_invalid")
    driver.find_element(By.ID, "audit-search").click()
    wait(driver, text_is(css("#audit-status"), "Page 1: 1 event."), "exactly one challenge_invalid event")
    found = driver.find_elements(*by_testid("audit-row"))
    assert len(found) == 1
    row = found[0].text
    assert "challenge_invalid" in row and "corp" in row and "PKIOperation" in row, row
    assert refused.report["transactionID"] in row, row

    for old in run.downloads.glob("audit*.csv"):
        old.unlink()
    driver.find_element(By.ID, "audit-export").click()
    wait(driver, text_matches(css("#audit-status"), r"^Saved audit\.csv "), "'Saved audit.csv'")
    csv_file = run.downloads / "audit.csv"
    wait(driver, lambda _: csv_file.exists() and not list(run.downloads.glob("*.crdownload")), f"{csv_file}")
    with csv_file.open(newline="") as f:
        table = list(csv.reader(f))
    assert len(table) == 2, f"want a header and one row, got {table}"
    header, event = table
    record = dict(zip(header, event))
    assert record.get("outcome") == "challenge_invalid", record
    assert record.get("profile") == "corp", record
    assert record.get("operation") == "PKIOperation", record
    assert record.get("transaction_id") == refused.report["transactionID"], record
    assert record.get("csr_subject") == f"CN={refused.cn}", record
    screenshot(driver, run, "console-audit.png")


def test_audit_table_fits_a_1280_window(driver, run):
    """Every event, serials and transaction IDs included, fits 1280 px without a sideways scroll, More opened too."""
    assert driver.execute_script("return [window.innerWidth, window.innerHeight];") == list(WIDE)
    go(driver, "#/audit")
    wait(driver, shown(css("#audit-clear")), "the audit form").click()
    driver.find_element(By.ID, "audit-search").click()
    wait(driver, text_matches(css("#audit-status"), r"^Page 1: \d+ events\.$"), "every event on one page")
    fits = "const w = document.querySelector('#audit-results .table-wrap'); return w.scrollWidth <= w.clientWidth + 1;"
    assert driver.execute_script(fits), driver.execute_script(
        "const w = document.querySelector('#audit-results .table-wrap'); return [w.scrollWidth, w.clientWidth];")
    # The widest row: an enrollment with both a transaction ID and a serial; open its More.
    row = next(r for r in driver.find_elements(*by_testid("audit-row"))
               if "PKIOperation" in r.text and r.find_elements(By.CSS_SELECTOR, "td a code"))
    scroll_to(driver, row)
    row.find_element(By.CSS_SELECTOR, "details.more summary").click()
    more = wait(driver, shown((By.CSS_SELECTOR, '[data-testid="audit-row"] details.more[open] dl')), "the opened More")
    assert "CSR subject" in more.text and "Latency" in more.text, more.text
    assert driver.execute_script(fits), "the opened More widened the table past the window"
    width = driver.execute_script("return arguments[0].getBoundingClientRect().width;", more)
    assert width >= 240, f"the More list is {width} px wide"
    screenshot(driver, run, "console-audit-1280.png")


def test_paging_shows_the_new_page_from_its_top(driver, run):
    """Next page, pressed below a long table, shows the new page from its top, as a new page would."""
    # Two to a page, so the few records here make pages; room below, so the pager can be scrolled to the top.
    fake_fetch(driver, "(url, init) => window.realFetch(String(url).replace(/([?&]limit=)\\d+/, (_, name) => name + '2'), init)")
    driver.execute_script("document.body.style.paddingBottom = '3000px';")
    try:
        for route, page, prefix, noun in (("#/certificates", "certificates", "cert", "certificates"), ("#/audit", "audit", "audit", "events")):
            go(driver, route)
            wait(driver, shown(css(f"#{prefix}-clear")), f"the {page} form").click()
            driver.find_element(By.ID, f"{prefix}-search").click()
            wait(driver, text_is(css(f"#{prefix}-status"), f"Page 1: 2 {noun}; more on the next page."), f"{page}: page 1")
            scroll_to(driver, driver.find_element(By.ID, f"{prefix}-next"))
            assert not in_view(f"#{prefix}-results .table-wrap")(driver), f"{page}: the table's top is in view before paging"
            driver.find_element(By.ID, f"{prefix}-next").click()
            wait(driver, text_matches(css(f"#{prefix}-status"), rf"^Page 2: "), f"{page}: page 2")
            wait(driver, in_view(f"#{prefix}-status"), f"{page}: page 2's status line in view")
            assert in_view(f"#{prefix}-results .table-wrap")(driver), f"{page}: the table's top is out of view"
            assert driver.execute_script("return document.activeElement.classList.contains('table-wrap');"), "focus is not on the table"
            if page == "audit":
                screenshot(driver, run, "console-audit-page-2.png")
            scroll_to(driver, driver.find_element(By.ID, f"{prefix}-first"))
            driver.find_element(By.ID, f"{prefix}-first").click()
            wait(driver, text_matches(css(f"#{prefix}-status"), r"^Page 1: "), f"{page}: back to page 1")
            wait(driver, in_view(f"#{prefix}-status"), f"{page}: page 1's status line in view")
    finally:
        restore_fetch(driver)
        driver.execute_script("document.body.style.paddingBottom = '';")


@pytest.mark.http_errors(403)
def test_viewer_sees_no_admin_controls_and_the_server_refuses_them(driver, run):
    sign_out(driver)
    sign_in(driver, run, run.viewer_token, "viewer", with_enter=True)
    assert driver.find_element(By.ID, "whoami-text").text == "Signed in as viewer (viewer)"
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-admin]"), "admin controls in a viewer's page"

    target = run.seed("console-laptop-1")
    serial = api_serial(run, target.cn)
    driver.find_element(By.ID, "nav-certificates").click()
    wait(driver, text_matches(css("#cert-status"), r"^Page 1: "), "the viewer's first search")
    assert not driver.find_elements(By.ID, "bulk"), "bulk revocation shown to a viewer"
    driver.find_element(By.ID, "cert-q").send_keys(target.cn + Keys.ENTER)
    # The search's table replaces the first page's: take the link only once it is the one row left
    # (a link found earlier can belong to a table that a late answer re-renders).
    wait(driver, lambda d: len(rows(d, "cert-row-")) == 1, "exactly one row")
    link = wait(driver, shown(css(f'[data-testid="cert-row-{serial}"] td a')), f"the row of {target.cn}")
    link.click()
    wait(driver, text_is(css("#cert-state-value"), "active"), "the detail: active")
    assert driver.find_element(By.ID, "download-pem").is_displayed()
    assert not driver.find_elements(By.ID, "revoke"), "#revoke shown to a viewer"
    assert not driver.find_elements(By.ID, "revoke-dialog")
    screenshot(driver, run, "console-viewer.png")

    driver.find_element(By.ID, "nav-intune").click()
    note = wait(driver, shown(css("#intune-needs-admin")), "#intune-needs-admin")
    assert "viewer role" in note.text
    assert not driver.find_elements(By.ID, "reload-trust")
    # The settings are a viewer's to read (GET /api/v1/profiles); the figures are not.
    wait(driver, lambda d: d.find_elements(*by_testid("setting-corp-rateLimit")) and setting(d, "corp", "rateLimit") == "5 per device per 24 h",
         "the viewer's corp card with its rate limit")
    assert not driver.find_elements(*by_testid("count-corp-success-24h")), "admin figures in a viewer's card"
    assert driver.find_element(*by_testid("not-intune")).text.startswith("No card for default: ")
    wait(driver, text_matches(css("#intune-status"), r"^Settings as of "), "the viewer's status line")
    scroll_to(driver, note)
    screenshot(driver, run, "console-intune-viewer.png")


    # The server enforces the role: the same request the admin page sends, with the viewer's token.
    answer = driver.execute_async_script(
        """
        const [serial, token, done] = arguments;
        fetch(`/api/v1/certificates/${serial}/revoke`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ reason: 'keyCompromise' }),
        }).then(async (r) => done({ status: r.status, body: await r.text() }))
          .catch((e) => done({ status: 0, body: String(e) }));
        """,
        serial,
        run.viewer_token,
    )
    assert answer["status"] == 403, answer
    assert json.loads(answer["body"])["error"]["code"] == "forbidden", answer
    status, detail = api(run, f"/api/v1/certificates/{serial}", token=run.viewer_token)
    assert status == 200 and detail["certificate"]["state"] == "active", detail


def test_viewer_reads_the_profiles_page(driver, run):
    """A viewer reads the Profiles page as the admin does (GET /api/v1/profiles is the viewer's), and nothing on it acts."""
    if not driver.find_element(By.ID, "whoami-text").text.endswith("(viewer)"):
        sign_out(driver)
        sign_in(driver, run, run.viewer_token, "viewer")
    status, profiles = api(run, "/api/v1/profiles", token=run.viewer_token)
    assert status == 200
    driver.find_element(By.ID, "nav-profiles").click()
    wait(driver, text_matches(css("#profiles-status"), r"^As of "), "the viewer's Profiles page")
    assert [c.get_attribute("data-testid") for c in driver.find_elements(By.CSS_SELECTOR, "#profiles-content > .card")] == [
        f"profiles-card-{p['name']}" for p in profiles]
    for profile in profiles:
        group = profile["edges"][0]
        assert profile_setting(driver, profile["name"], "ra") == f"{group['settings']['ra']['notAfter'][:10]}\n{group['raDaysLeft']} days left"
        assert profile_setting(driver, profile["name"], "issuerSubject") == profile["issuer"]["subject"]
    # GET /api/v1/issuers is the viewer's too.
    assert issuer_cells(driver, "dev")["state"] == "current"
    page = driver.find_element(By.ID, "page-profiles")
    assert [b.get_attribute("id") for b in page.find_elements(By.TAG_NAME, "button")] == ["profiles-refresh"]
    assert not page.find_elements(By.CSS_SELECTOR, "input, select, textarea, form, [data-admin]")
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-admin]"), "admin controls in a viewer's page"
    screenshot(driver, run, "console-profiles-viewer.png")


def test_narrow_screen_has_no_page_wide_horizontal_scroll(driver, run):
    sign_out(driver)
    sign_in(driver, run, run.admin_token, "admin")
    set_viewport(driver, NARROW, mobile=True)
    try:
        assert driver.execute_script("return [window.innerWidth, window.innerHeight];") == list(NARROW)
        pages = {
            "#/overview": (by_testid("total-active-value"), r"^\d+$"),
            "#/intune": (css("#intune-status"), r"^Counters as of "),
            f"#/certificates/{api_serial(run, 'console-laptop-2')}": (css("#cert-state-value"), r"^revoked$"),
            "#/audit": (css("#audit-status"), r"^Page 1: "),
            "#/certificates": (css("#cert-status"), r"^Page 1: "),
        }
        overflowing = []
        for route, (locator, pattern) in pages.items():
            go(driver, route)
            wait(driver, text_matches(locator, pattern), f"{route} loaded")
            if not no_horizontal_scroll(driver):
                widths = driver.execute_script(
                    "return [document.documentElement.scrollWidth, window.innerWidth];"
                )
                overflowing.append(f"{route}: scrollWidth {widths[0]} > innerWidth {widths[1]}")
        # The certificates page is the last one shown: its results, below the search form.
        scroll_to(driver, driver.find_element(By.ID, "cert-search"))
        screenshot(driver, run, "console-narrow.png")
        assert not overflowing, "page-wide horizontal scroll:\n" + "\n".join(overflowing)
    finally:
        set_viewport(driver, WIDE)


def test_a_revocation_whose_answer_is_lost_is_not_called_a_failure(driver, run):
    """No answer (the console's timer, a dropped connection) leaves the outcome
    unknown: the server may have revoked the certificate, so the dialog must
    not say "Not revoked". Leaving the page closes the dialog.

    It uses console-laptop-1 and revokes nothing.
    """
    target = run.seed("console-laptop-1")
    serial = api_serial(run, target.cn)
    go(driver, f"#/certificates/{serial}")
    wait(driver, text_is(css("#cert-state-value"), "active"), "the detail: active")
    wait(driver, shown(css("#revoke")), "Revoke…").click()
    wait(driver, dialog_open("revoke-dialog"), "the revoke dialog")
    # The revocation's answer never comes: fetch fails as it does when the console's timer aborts it.
    driver.execute_script(
        "window.realFetch = window.fetch;"
        "window.fetch = (url, init) => (init && init.method === 'POST')"
        " ? Promise.reject(new DOMException('The operation was aborted.', 'AbortError')) : window.realFetch(url, init);")
    try:
        driver.find_element(By.ID, "revoke-confirm").click()
        wait(driver, shown(by_testid("revoke-unknown")), "the unknown outcome")
        text = driver.find_element(By.ID, "revoke-result").text
        assert "Outcome unknown" in text and "Not revoked" not in text, text
        screenshot(driver, run, "console-revoke-unknown.png")
    finally:
        driver.execute_script("window.fetch = window.realFetch;")
    go(driver, "#/overview")
    wait(driver, dialog_closed("revoke-dialog"), "the revoke dialog to close when the page changes")
    status, answer = api(run, f"/api/v1/certificates/{serial}")
    assert status == 200 and answer["certificate"]["state"] == "active", answer


def test_an_address_keeps_a_plus_in_a_filter(driver, run):
    """Transaction IDs are base64: one pasted into #/audit?transactionID=… keeps its `+`."""
    go(driver, "#/audit?transactionID=ab+cd/ef%3D")
    wait(driver, lambda d: d.find_element(By.ID, "audit-transaction").get_attribute("value") == "ab+cd/ef=",
         "the transaction filter as pasted")


def test_sign_out_clears_the_session(driver, run):
    go(driver, "#/overview")
    wait(driver, shown(by_testid("total-active-value")), "the overview")
    assert driver.execute_script("return sessionStorage.length;") == 1
    driver.find_element(By.ID, "signout").click()
    wait(driver, shown(css("#signin")), "the sign-in form")
    assert driver.execute_script("return sessionStorage.length;") == 0
    assert driver.find_element(By.ID, "token").get_attribute("value") == ""
    assert not driver.find_element(By.ID, "nav").is_displayed()
    assert not driver.find_element(By.ID, "whoami").is_displayed()
    assert not [s.get_attribute("id") for s in driver.find_elements(By.CSS_SELECTOR, "section.page") if s.is_displayed()]
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-admin]"), "admin controls left after sign-out"
    assert driver.find_element(By.ID, "overview-content").text == ""
    # A reload, or a page's address, does not bring the session back.
    driver.refresh()
    wait(driver, shown(css("#signin")), "the sign-in form after a reload")
    go(driver, "#/certificates")
    wait(driver, shown(css("#signin")), "the sign-in form for #/certificates")
    assert not driver.find_element(By.ID, "page-certificates").is_displayed()
