"""The portal's public pages: home and the refund calculator, in both languages."""

import pytest
from conftest import LANGS
from playwright.sync_api import expect


@pytest.mark.parametrize("lang", LANGS)
def test_home_page_leads_to_filing_and_the_directory(new_web, lang):
    web = new_web()
    page = web.page
    web.goto(f"/?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("main a[href='/file']")).to_be_visible()
    expect(page.locator("main ol.steps li").first).to_be_visible()
    web.check(f"home-{lang}")
    # The search goes to the directory, filtered.
    page.locator("main form[role=search] input[name=q]").fill("星火")
    web.submit(page.locator("main form[role=search] button"))
    expect(page.locator("tbody a[href^='/institutions/']")).to_have_count(1)
    web.check(f"home-search-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_refund_calculator(new_web, lang):
    web = new_web()
    page = web.page
    web.goto(f"/refund-calculator?lang={lang}")
    web.check(f"refund-form-{lang}")
    form = page.locator("main form[action='/refund-calculator']")
    form.locator("[name=paid]").fill("2400")
    form.locator("[name=hours_bought]").fill("60")
    form.locator("[name=hours_used]").fill("30")
    form.locator("#started").check()
    web.submit(form.locator("button[type=submit]"))
    # Prorated on the unused half of the hours: 1,200.00.
    expect(page.locator("main [role=status]")).to_contain_text("1,200.00")
    web.check(f"refund-result-{lang}")
