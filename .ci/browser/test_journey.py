"""A learner's whole journey in the browser: sign up (the email left unverified, which
the case page says), file in steps with an attachment and a refund remedy (an invalid step first, and the
final submit clicked twice), see the reference and the deadline; then the case is
settled on its page with the institution and the mediator acting through the JSON API,
and rated. Then the same journey's key pages in the other language."""

import re

from conftest import PASSWORD, unique_email
from journey import Sides, settle_on_the_case_page, sign_up
from playwright.sync_api import expect

LANG, OTHER = "zh-CN", "en"
NARRATIVE = "我在3月购买了60课时，只上了30课时，机构就停课了。请退还未上课时的费用。"


def test_learners_whole_journey(new_web, api, mail, tmp_path):
    web = new_web("learner")
    page = web.page
    email_ = unique_email("journey")

    web.goto(f"/?lang={LANG}")
    web.check(f"j-home-{LANG}")
    sign_up(web, email_, "李雷", LANG, f"j-sign-up-{LANG}")
    web.sign_in(email_, PASSWORD, f"j-sign-in-{LANG}", lang=LANG)

    # 1. The institution, found by name.
    admin = api.admin()
    inst = api.call("GET", "/api/v1/institutions?status=active&limit=1", admin, expect=200)
    inst = inst.json()["items"][0]
    web.goto("/file")
    assert page.url.endswith("/file/institution"), page.url
    web.check(f"j-file-institution-{LANG}")
    search = page.locator("main form[role=search]")
    search.locator("[name=q]").fill(inst["name"])
    web.submit(search.locator("button[type=submit]"))
    page.locator(f"input[name=institution_id][value='{inst['id']}']").check()
    web.check(f"j-file-institution-found-{LANG}")
    web.submit(page.locator("main form[method=post][action='/file/institution'] button[type=submit]"))
    assert page.url.endswith("/file/details"), page.url
    web.check(f"j-file-details-{LANG}")

    # 2. What happened: first without a title, which comes back with the error summary
    # and the other answers kept.
    form = page.locator("main form[action='/file/details']")
    form.locator("[name=category]").select_option("refund")
    form.locator("[name=narrative]").fill(NARRATIVE)
    form.locator("[name=course]").fill("少儿编程春季班")
    form.locator("[name=paid]").fill("2400")
    form.locator("[name=hours_bought]").fill("60")
    form.locator("[name=hours_used]").fill("30")
    form.locator("#started").check()
    web.submit(form.locator("button[type=submit]"), status=422)
    expect(page).to_have_title(re.compile("^错误："))
    expect(page.locator(".error-summary a[href='#title']")).to_have_count(1)
    expect(page.locator("#title-error")).to_be_visible()
    expect(form.locator("[name=narrative]")).to_have_value(NARRATIVE)
    expect(form.locator("[name=hours_used]")).to_have_value("30")
    web.check(f"j-file-details-error-{LANG}")
    form.locator("[name=title]").fill("停课后未退还剩余课时费用")
    web.submit(form.locator("button[type=submit]"))
    assert page.url.endswith("/file/remedy"), page.url

    # 3. What you want: a partial refund; the estimate from step 2 is shown.
    expect(page.locator("main .notice")).to_contain_text("1,200.00")
    web.check(f"j-file-remedy-{LANG}")
    form = page.locator("main form[action='/file/remedy']")
    form.locator("input[name=remedy][value=partial_refund]").check()
    form.locator("[name=amount]").fill("1200")
    web.submit(form.locator("button[type=submit]"))
    assert page.url.endswith("/file/filer"), page.url
    web.check(f"j-file-filer-{LANG}")

    # 4. Filing for oneself.
    form = page.locator("main form[action='/file/filer']")
    form.locator("input[name=filer][value=self]").check()
    web.submit(form.locator("button[type=submit]"))
    assert page.url.endswith("/file/evidence"), page.url
    web.check(f"j-file-evidence-{LANG}")

    # 5. Evidence: one file, listed once added.
    order = tmp_path / "order.txt"
    order.write_text("订单 2026-03-02：60课时，2400.00元\n", encoding="utf-8")
    add = page.locator("main form[action='/file/evidence']:has(input[type=file])")
    add.locator("input[type=file]").set_input_files(str(order))
    web.submit(add.locator("button[type=submit]"))
    expect(page.locator("main")).to_contain_text("order.txt")
    web.check(f"j-file-evidence-added-{LANG}")
    web.submit(page.locator("main form:has(input[name=continue]) button[type=submit]"))
    assert page.url.endswith("/file/consent"), page.url

    # 6. Publication consent, with the redacted preview.
    expect(page.locator("#preview")).to_contain_text("60课时")
    web.check(f"j-file-consent-{LANG}")
    form = page.locator("main form[action='/file/consent']")
    form.locator("#consent").check()
    web.submit(form.locator("button[type=submit]"))
    assert page.url.endswith("/file/check"), page.url

    # 7. Check your answers, then submit with a double click: one case is filed.
    expect(page.locator("dl.summary")).to_contain_text("停课后未退还剩余课时费用")
    expect(page.locator("dl.summary a[id^=change-]").first).to_be_visible()
    web.check(f"j-file-check-{LANG}")
    web.submit(page.locator("main form[action='/file/check'] button[type=submit]"), dblclick=True)
    assert "/file/done" in page.url, page.url
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"ED-\d{4}-\d{6}", reference), reference
    expect(page.locator("#deadline")).to_contain_text("个工作日")
    expect(page.locator("#deadline")).to_contain_text("年")
    web.check(f"j-file-done-{LANG}")

    # The same form submitted again (back, submit) files nothing new.
    page.go_back()
    web.check(f"j-file-check-again-{LANG}")
    web.submit(page.locator("main form[action='/file/check'] button[type=submit]"))
    assert page.locator("#reference").inner_text().strip() == reference
    web.check(f"j-file-done-again-{LANG}")
    learner = api.login(email_, PASSWORD)
    mine = api.call("GET", "/api/v1/complaints", learner, expect=200).json()["items"]
    assert [c["reference"] for c in mine] == [reference], "filed exactly once"
    case = mine[0]

    # The filing mail, and the case page with the attachment and an intact record.
    mail.wait_for(to=email_, body=re.compile(re.escape(reference)))
    web.submit(page.locator(f"main a[href='/cases/{case['id']}']"))
    expect(page.locator(f"a[href^='/cases/{case['id']}/attachments/']", has_text="order.txt")).to_have_count(1)
    expect(page.locator("#record-intact")).to_be_visible()
    expect(page.locator("main")).to_contain_text("邮箱尚未验证")
    web.check(f"j-case-{LANG}")

    sides = Sides(api, case["id"], inst["id"], learner=learner)
    settle_on_the_case_page(web, sides, LANG, tmp_path, prefix="j-case")

    # The key pages in the other language, chosen once and then remembered.
    web.goto(f"/cases?lang={OTHER}")
    expect(page.locator("html")).to_have_attribute("lang", OTHER)
    expect(page.locator("tbody")).to_contain_text(reference)
    web.check(f"j-my-cases-{OTHER}")
    web.goto(f"/cases/{case['id']}")
    expect(page.locator("html")).to_have_attribute("lang", OTHER)
    expect(page.locator("#record-intact")).to_be_visible()
    web.check(f"j-case-{OTHER}")
    web.goto("/file")
    web.check(f"j-file-institution-{OTHER}")
    web.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", OTHER)
    web.check(f"j-home-{OTHER}")
