"""The checks themselves: axe runs in this Chromium and finds violations, and a CSP
refusal on a served page fails check(). Guards against a Playwright/Chromium skew that
would make every other test pass vacuously."""

import pytest
from conftest import WCAG_TAGS, _axe


def test_axe_finds_violations_on_a_bad_page(browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.set_content("<html><body><img src='x.png'><input type='text'></body></html>")
    found = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}).response
    ids = {v["id"] for v in found["violations"]}
    ctx.close()
    assert {"image-alt", "html-has-lang"} <= ids, ids


def test_a_csp_refusal_fails_the_page_check(new_web):
    web = new_web()
    web.goto("/institutions?lang=en")
    web.page.evaluate(
        "() => { const s = document.createElement('script'); s.src = 'data:text/javascript,1';"
        " document.head.append(s); }"
    )
    web.page.wait_for_timeout(200)
    with pytest.raises(AssertionError, match="Content Security Policy"):
        web.check("harness-csp-refusal")
