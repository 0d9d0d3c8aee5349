"""Fixtures of the console browser tests: one headless Chromium for the module,
the run's facts from Tests/Console/run.sh, and a check of the browser's
console log after every test (no CSP violation, no JavaScript error, no
failed request the test did not expect)."""

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

WIDE = (1280, 800)
NARROW = (390, 844)


@dataclass
class Seed:
    """One enrollment run.sh made with micromdm's client."""

    path: str  # /scep/corp or /scep
    cn: str
    cert_file: str  # PEM of the issued certificate, "" for a refusal
    report: dict  # the client's JSON line

    @property
    def succeeded(self) -> bool:
        return self.report.get("pkiStatus") == "SUCCESS"

    @property
    def profile(self) -> str:
        name = self.path.rstrip("/").rsplit("/", 1)[-1]
        return "default" if name == "scep" else name


@dataclass
class Run:
    """What run.sh set up, from its environment."""

    url: str
    admin_token: str
    viewer_token: str
    data_dir: Path
    connector_cert: Path
    screenshots: Path
    downloads: Path
    artifacts: Path
    seeds: list = field(default_factory=list)

    @property
    def console(self) -> str:
        return f"{self.url}/admin/"

    def seed(self, cn: str) -> Seed:
        return next(s for s in self.seeds if s.cn == cn)


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.exit(f"{name} is not set: run these tests with Tests/Console/run.sh", returncode=2)
    return value


@pytest.fixture(scope="session")
def run() -> Run:
    seeds = [
        Seed(path=d["path"], cn=d["cn"], cert_file=d["certFile"], report=d["report"])
        for d in map(json.loads, Path(_env("CONSOLE_SEEDS")).read_text().splitlines())
    ]
    return Run(
        url=_env("CONSOLE_URL").rstrip("/"),
        admin_token=_env("CONSOLE_ADMIN_TOKEN"),
        viewer_token=_env("CONSOLE_VIEWER_TOKEN"),
        data_dir=Path(_env("CONSOLE_DATA_DIR")),
        connector_cert=Path(_env("CONSOLE_CONNECTOR_CERT")),
        screenshots=Path(_env("CONSOLE_SCREENSHOTS")),
        downloads=Path(_env("CONSOLE_DOWNLOADS")),
        artifacts=Path(_env("CONSOLE_ARTIFACTS")),
        seeds=seeds,
    )


@dataclass
class DevServer:
    """A `scepter dev` a fixture started besides run.sh's."""

    url: str
    admin_token: str
    work: Path

    @property
    def console(self) -> str:
        return f"{self.url}/admin/"


@pytest.fixture(scope="module")
def retired_issuer_dev(run):
    """A second `scepter dev` with an issuer `old` that no profile uses, as after a CA rollover (its CA
    made here with openssl), and no enrollment: `old` is retired with no certificate left. Its work dir
    sits beside run.sh's artifacts (kept after a failure); it is stopped with SIGTERM at the end."""
    root = Path(__file__).resolve().parents[2]
    binary = Path(os.environ.get("SCEPTER_BINARY", ".build/debug/scepter"))
    if not binary.is_absolute():
        binary = root / binary
    work = run.artifacts.parent / "retired-issuer-dev"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
         "-subj", "/CN=Console Test Retired CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-keyout", str(work / "old.key"), "-out", str(work / "old.pem")],
        check=True, capture_output=True, timeout=60,
    )
    (work / "old.key").chmod(0o600)
    # Only this server's variables, as run.sh does for its own.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SCEPTER_")}
    env.update(
        SCEPTER_LOG_LEVEL="info",
        SCEPTER_ISSUERS="old",
        SCEPTER_ISSUER_OLD_CA_CERT_PATH=str(work / "old.pem"),
        SCEPTER_ISSUER_OLD_CA_KEY_PATH=str(work / "old.key"),
    )
    data = work / "data"
    with (work / "server.log").open("w") as log:
        server = subprocess.Popen(
            [str(binary), "dev", "--data-dir", str(data), "--port", "0", "--host", "127.0.0.1"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    try:
        port = ""
        deadline = time.monotonic() + 60
        while not port and time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"the second scepter dev exited ({server.returncode}):\n{(work / 'server.log').read_text()}")
            found = re.search(r"SCEP URL: *http://127\.0\.0\.1:(\d+)/scep", (work / "server.log").read_text())
            token = data / "admin-token"
            if found and token.exists() and token.read_text().strip():
                port = found.group(1)
            else:
                time.sleep(0.1)
        if not port:
            pytest.fail(f"the second scepter dev printed no SCEP URL within 60 s:\n{(work / 'server.log').read_text()}")
        yield DevServer(url=f"http://127.0.0.1:{port}", admin_token=(data / "admin-token").read_text().strip(), work=work)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def set_viewport(driver, size, mobile=False):
    """Makes the page's viewport exactly `size` CSS pixels (the window's own
    size differs from it by the headless frame)."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


@pytest.fixture(scope="module")
def driver(run, request):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--lang=en-US",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(run.downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        },
    )
    # The driver named: otherwise Selenium Manager tries to download one.
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    browser.set_page_load_timeout(20)
    browser.set_script_timeout(20)
    set_viewport(browser, WIDE)
    browser.console_log = BrowserLog(run.artifacts / "browser.log")
    yield browser
    try:
        browser.console_log.drain(browser, "(end of module)")
    finally:
        browser.quit()


class BrowserLog:
    """Collects Chromium's console log into a file and finds what must not be there."""

    CSP = re.compile(r"Content.Security.Policy|Refused to (execute|load|apply|connect|frame)", re.I)
    STATUS = re.compile(r"status of (\d{3})")

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def drain(self, driver, test_name: str, expected_statuses=()):
        """Returns the problems among the entries logged since the last drain."""
        entries = driver.get_log("browser")
        problems = []
        with self.path.open("a") as log:
            for e in entries:
                log.write(f"{test_name}\t{e.get('level')}\t{e.get('source')}\t{e.get('message')}\n")
                message = str(e.get("message", ""))
                if self.CSP.search(message):
                    problems.append(f"CSP violation: {message}")
                elif e.get("level") == "SEVERE":
                    status = self.STATUS.search(message)
                    if e.get("source") == "network" and status and int(status.group(1)) in expected_statuses:
                        continue
                    problems.append(f"{e.get('source')} error: {message}")
                elif "Uncaught" in message:
                    problems.append(f"JavaScript error: {message}")
        return problems


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "http_errors(*statuses): HTTP error statuses the browser may log in this test (a wrong token's 401, a viewer's 403)",
    )


@pytest.fixture(autouse=True)
def clean_console_log(request, driver):
    """After each test: the browser logged no CSP violation, no JavaScript error
    and no failed request but those the test's http_errors marker names."""
    yield
    marker = request.node.get_closest_marker("http_errors")
    expected = tuple(marker.args) if marker else ()
    problems = driver.console_log.drain(driver, request.node.name, expected)
    assert not problems, "the browser's console log has problems:\n" + "\n".join(problems)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, saves what the browser showed: a screenshot, the DOM and the URL."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "driver" in item.funcargs:
        browser = item.funcargs["driver"]
        folder = item.funcargs["run"].artifacts if "run" in item.funcargs else Path(".")
        stem = folder / f"failed-{item.name}-{report.when}"
        try:
            browser.save_screenshot(f"{stem}.png")
            Path(f"{stem}.html").write_text(browser.page_source)
            Path(f"{stem}.url").write_text(browser.current_url + "\n")
        except Exception as error:  # the browser itself may be what failed
            Path(f"{stem}.txt").write_text(f"could not save the page: {error}\n")
