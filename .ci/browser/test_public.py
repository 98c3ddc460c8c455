"""The public pages: the institution directory and a disclosure page, in both languages."""

import re

import pytest
from conftest import LANGS
from playwright.sync_api import expect

WORDS = {
    "en": {
        "directory": "Institution directory",
        "complaints_12m": "Complaints, last 12 months",
        "timely": "Answered in time",
        "credit_code": "Unified social credit code",
        "record": "Complaint record",
        "recent": "Most recent published cases",
    },
    "zh-CN": {
        "directory": "机构名录",
        "complaints_12m": "近12个月投诉",
        "timely": "按时回应率",
        "credit_code": "统一社会信用代码",
        "record": "投诉记录",
        "recent": "最近公开的投诉",
    },
}


@pytest.mark.parametrize("lang", LANGS)
def test_directory_and_disclosure_page(new_web, lang):
    w = WORDS[lang]
    web = new_web()
    page = web.page

    web.goto(f"/institutions?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page).to_have_title(re.compile("^" + re.escape(w["directory"])))
    expect(page.locator("thead")).to_contain_text(w["complaints_12m"])
    expect(page.locator("thead")).to_contain_text(w["timely"])
    links = page.locator("tbody a[href^='/institutions/']")
    assert links.count() >= 10, "the demo's institutions are listed"
    web.check(f"directory-{lang}")

    # The first institution in the directory (the demo gives it published cases).
    links.first.click()
    page.wait_for_url(re.compile(r"/institutions/[0-9a-f-]{36}"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("main")).to_contain_text(w["credit_code"])
    expect(page.locator("main")).to_contain_text(w["record"])
    expect(page.locator("main")).to_contain_text(w["recent"])
    expect(page.locator('[data-figure="received-12m"]')).to_have_count(1)
    expect(page.locator('[data-figure="timely-all"]')).to_have_count(1)
    expect(page.locator('[data-figure="received-all"]')).to_have_text(re.compile(r"^[1-9][0-9]*$"))
    web.check(f"institution-{lang}")


def test_language_switch_keeps_the_page(new_web):
    web = new_web()
    page = web.page
    web.goto("/institutions?lang=en")
    web.check("directory-switch-en")
    page.locator("header nav a[hreflang='zh-CN']").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title(re.compile("^" + WORDS["zh-CN"]["directory"]))
    web.check("directory-switch-zh-CN")


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_page_is_a_page(new_web, lang):
    web = new_web()
    web.goto(f"/institutions/00000000-0000-4000-8000-000000000000?lang={lang}", status=404)
    expect(web.page.locator("html")).to_have_attribute("lang", lang)
    expect(web.page.locator("h1")).to_be_visible()
    web.check(f"not-found-{lang}")
