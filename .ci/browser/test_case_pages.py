"""Another learner's case is the same 404 page as a case that does not exist (the case
filed through the API; test_journey.py files in the browser)."""

from conftest import PASSWORD
from journey import REFUND


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
