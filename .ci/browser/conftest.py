"""Fixtures for the browser tests. .ci/browser/run serves the demo and sets:

REDRESS_BASE_URL  the served instance        REDRESS_MAILDIR  the SMTP sink's Maildir
REDRESS_SERVE_LOG the server's stderr (demo logins)  SCREENSHOT_DIR  where screenshots go
REDRESS_BIN       the binary (for `redress admin`)  CHROMIUM  Debian's chromium
"""

import email
import email.policy
import json
import mailbox
import os
import re
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Response, sync_playwright

BASE_URL = os.environ.get("REDRESS_BASE_URL", "http://127.0.0.1:8080")
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "target/screenshots"))
DEMO_PASSWORD = "redress-demo-2026"
# WCAG 2.1 A and AA; serious and critical violations fail a page.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
LANGS = ["en", "zh-CN"]

_axe = Axe()
_axe_report: list[dict] = []


def pytest_sessionfinish(session, exitstatus):
    """Write the axe results of every checked page; a skipped test fails the run."""
    if _axe_report:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "axe-report.json").write_text(
            json.dumps(_axe_report, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if not _axe_report:
        return
    by_impact = Counter()
    for page in _axe_report:
        by_impact.update(v["impact"] for v in page["violations"])
    terminalreporter.write_line(
        f"axe (WCAG 2.1 A/AA, axe-core {_axe_version()}): {len(_axe_report)} page checks; "
        f"violations by impact: {dict(by_impact) or 'none'}"
    )
    if terminalreporter.stats.get("skipped"):
        terminalreporter.write_line("skipped tests are not allowed here: the run fails")


def _axe_version() -> str:
    m = re.search(r"axe v([0-9.]+)", _axe.axe_script[:200])
    return m.group(1) if m else "?"


@pytest.fixture(scope="session")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium")
    assert exe, "Debian's chromium is required"
    b = playwright.chromium.launch(executable_path=exe)
    yield b
    b.close()


class Web:
    """One person's browser: a context (own cookies) and a page. Every document the page
    loads must be passed through check() (axe, browser errors, screenshot) before the
    test ends."""

    def __init__(self, context, label: str):
        self.context = context
        self.label = label
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []
        self.unchecked: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on(
            "requestfailed",
            lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"),
        )
        self.page.on("framenavigated", self._navigated)

    def _console(self, msg):
        # The browser's own probe for /favicon.ico is not a request the page made.
        if msg.type in ("error", "assert") and not msg.location.get("url", "").endswith(
            "/favicon.ico"
        ):
            self.errors.append(f"console {msg.type}: {msg.text} at {msg.location.get('url')}")

    def _navigated(self, frame):
        if frame == self.page.main_frame:
            self.unchecked.append(frame.url)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else BASE_URL + path

    def goto(self, path: str, status: int = 200) -> Response:
        """Opens a page and asserts its HTTP status. A non-2xx status is also logged by
        the browser as a failed load, which is then expected, not an error."""
        resp = self.page.goto(self.url(path))
        assert resp is not None, path
        assert resp.status == status, f"{path}: HTTP {resp.status}, expected {status}"
        if status >= 400:
            self.allowed.append(re.compile(rf"status of {status}\b"))
        return resp

    def check(self, shot: str) -> dict:
        """axe (0 serious/critical WCAG 2.1 A/AA violations), no console errors, CSP
        refusals or failed requests, and a full-page screenshot named `shot`."""
        page = self.page
        page.wait_for_load_state("load")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
        results = _axe.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": WCAG_TAGS},
                "resultTypes": ["violations"],
            },
        ).response
        violations = [
            {
                "id": v["id"],
                "impact": v.get("impact"),
                "help": v.get("help"),
                "nodes": [n.get("target") for n in v.get("nodes", [])][:5],
            }
            for v in results["violations"]
        ]
        _axe_report.append(
            {"page": shot, "url": page.url, "lang": page.locator("html").get_attribute("lang"),
             "violations": violations}
        )
        errors = [e for e in self.errors if not any(a.search(e) for a in self.allowed)]
        self.errors.clear()
        self.allowed.clear()
        self.unchecked.clear()
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not errors, f"{shot}: the browser reported {errors}"
        assert not blocking, f"{shot}: axe found {json.dumps(blocking, ensure_ascii=False)}"
        return results

    def close(self):
        unchecked, self.unchecked = self.unchecked, []
        self.context.close()
        assert not unchecked, f"{self.label}: pages loaded but not checked: {unchecked}"


@pytest.fixture
def new_web(browser, request):
    """new_web(label) opens a fresh browser context (its own cookies) for one person."""
    opened: list[Web] = []

    def make(label: str = "web", **context_args) -> Web:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context_args)
        ctx.set_default_timeout(15_000)
        w = Web(ctx, f"{request.node.name}:{label}")
        opened.append(w)
        return w

    yield make
    failed = getattr(request.node, "rep_call", None)
    for w in opened:
        if failed is not None and failed.failed:
            w.context.close()  # the test's own failure is the one to report
        else:
            w.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.rep_call = rep


class Mail:
    """The messages the server sent, as the SMTP sink received them."""

    def __init__(self, path: Path):
        self.path = path

    def messages(self) -> list[email.message.EmailMessage]:
        box = mailbox.Maildir(self.path, create=False)
        # Maildir keys start with the delivery time: sorted keys are arrival order.
        return [
            email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)
            for k in sorted(box.keys())
        ]

    def wait_for(self, to: str, subject: str | re.Pattern = "", timeout: float = 30.0):
        """The first message to `to` whose subject matches; the outbox worker sends
        after the change commits, so this polls the sink until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages():
                rcpt = (m.get("To") or "") + " " + (m.get("X-RcptTo") or "")
                subj = m.get("Subject") or ""
                ok = re.search(subject, subj) if isinstance(subject, re.Pattern) else subject in subj
                if to.lower() in rcpt.lower() and ok:
                    return m
            if time.monotonic() > deadline:
                seen = [(m.get("To"), m.get("Subject")) for m in self.messages()]
                raise AssertionError(f"no mail to {to} with subject {subject!r}; sink has {seen}")
            time.sleep(0.25)


@pytest.fixture(scope="session")
def mail() -> Mail:
    path = os.environ.get("REDRESS_MAILDIR")
    assert path, "REDRESS_MAILDIR is set by .ci/browser/run"
    return Mail(Path(path))


@pytest.fixture(scope="session")
def demo_accounts() -> dict[str, tuple[str, str]]:
    """role -> (email, note) for the logins `serve --demo` printed (password DEMO_PASSWORD)."""
    log = Path(os.environ["REDRESS_SERVE_LOG"]).read_text(encoding="utf-8")
    accounts = {}
    for m in re.finditer(r"^  (\w+)\s+(\S+@\S+)[ \t]*(.*)$", log, re.M):
        accounts.setdefault(m.group(1), (m.group(2), m.group(3).strip()))
    assert "learner" in accounts, "serve --demo printed no logins"
    return accounts


class Api:
    """The JSON API, for the other side of a learner's case (institution, mediator)."""

    def __init__(self, request_context):
        self.rc = request_context

    def login(self, email_: str, password: str = DEMO_PASSWORD) -> str:
        r = self.rc.post("/api/v1/auth/login", data={"email": email_, "password": password})
        assert r.ok, f"login {email_}: {r.status} {r.text()}"
        return r.json()["access_token"]

    def call(self, method: str, path: str, token: str, body=None, expect: int | None = None):
        r = self.rc.fetch(
            path, method=method, data=body, headers={"authorization": f"Bearer {token}"}
        )
        if expect is not None:
            assert r.status == expect, f"{method} {path}: {r.status} {r.text()}"
        return r


@pytest.fixture(scope="session")
def api(playwright):
    rc = playwright.request.new_context(base_url=BASE_URL)
    yield Api(rc)
    rc.dispose()
