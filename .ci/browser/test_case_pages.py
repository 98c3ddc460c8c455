"""A learner follows and settles a case on its page: attach a file, write a message,
escalate the institution's response, accept the mediator's offer, confirm fulfilment and
rate; the institution and the mediator act through the JSON API. Then the key pages in
the other language, and another learner's 404."""

import re

import pytest
from conftest import PASSWORD
from journey import REFUND, Sides, settle_on_the_case_page
from playwright.sync_api import expect


def file_through_api(api, learner_token: str, institution_id: str) -> dict:
    r = api.call(
        "POST",
        "/api/v1/complaints",
        learner_token,
        {
            "institution_id": institution_id,
            "category": "refund",
            "title": "Refund for the unused class hours",
            "narrative": "I bought 60 class hours in March and used 30; the school closed the class.",
            "desired_remedy": "partial_refund",
            "desired_amount": {"amount_minor": REFUND, "currency": "CNY"},
            "amount_prepaid": {"amount_minor": 240_000, "currency": "CNY"},
            "class_hours_bought": 60,
            "class_hours_used": 30,
        },
    )
    assert r.status == 201, f"file: {r.status} {r.text()}"
    return r.json()


def an_institution(api) -> str:
    token = api.admin()
    r = api.call("GET", "/api/v1/institutions?status=active&limit=5", token, expect=200)
    return r.json()["items"][0]["id"]


@pytest.mark.parametrize("lang,other", [("zh-CN", "en")])
def test_learner_settles_a_case_on_its_page(new_web, api, tmp_path, lang, other):
    email_ = api.register_learner("journey")
    learner = api.login(email_, PASSWORD)
    institution_id = an_institution(api)
    case = file_through_api(api, learner, institution_id)
    sides = Sides(api, case["id"], institution_id, learner=learner)
    case_url = f"/cases/{case['id']}"

    web = new_web("learner")
    page = web.page
    web.sign_in(email_, PASSWORD, f"case-sign-in-{lang}", lang=lang)

    # My cases lists it; its page shows the reference, the deadline and an intact record.
    web.goto(f"/cases?lang={lang}")
    row = page.locator("tbody tr", has_text=case["reference"])
    expect(row).to_have_count(1)
    web.check(f"case-my-cases-{lang}")
    web.submit(row.locator("a"))
    expect(page.locator("main")).to_contain_text(case["reference"])
    expect(page.locator("#case-deadline")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#record-intact")).to_be_visible()
    web.check(f"case-filed-{lang}")

    settle_on_the_case_page(web, sides, lang, tmp_path, prefix="case")

    # The key pages in the other language (remembered in the session once chosen).
    web.goto(f"/cases?lang={other}")
    expect(page.locator("html")).to_have_attribute("lang", other)
    web.check(f"case-my-cases-{other}")
    web.goto(case_url)
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.locator("main")).to_contain_text(case["reference"])
    web.check(f"case-rated-{other}")


def test_another_learners_case_is_the_not_found_page(new_web, api):
    a = api.register_learner("owner")
    institution_id = an_institution(api)
    case = file_through_api(api, api.login(a, PASSWORD), institution_id)
    b = api.register_learner("stranger")

    web = new_web("stranger")
    web.sign_in(b, PASSWORD, "stranger-sign-in")
    web.goto(f"/cases/{case['id']}?lang=en", status=404)
    theirs = web.page.locator("main").inner_text()
    assert case["reference"] not in web.page.content()
    web.check("stranger-case-404")
    web.goto("/cases/00000000-0000-4000-8000-000000000000?lang=en", status=404)
    assert web.page.locator("main").inner_text() == theirs, "same page as a case that does not exist"
    web.check("unknown-case-404")
