"""Steps of a learner's journey shared by the tests, and the other side of the case through
the JSON API: the institution's staff and the mediator of the association the case is
routed to, as accounts the demo admin makes."""

import re
from dataclasses import dataclass

from conftest import PASSWORD, text_of
from playwright.sync_api import expect

REFUND = 120_000  # 1,200.00 CNY


def sign_up(web, email_: str, name: str, lang: str, shot: str):
    web.goto(f"/sign-up?lang={lang}")
    web.check(f"{shot}-form")
    form = web.page.locator("main form[action='/sign-up']")
    form.locator("[name=email]").fill(email_)
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("[name=display_name]").fill(name)
    web.submit(form.locator("button[type=submit]"))
    web.check(f"{shot}-check-email")


def verification_link(mail, email_: str) -> str:
    msg = mail.wait_for(to=email_, body=re.compile(r"/verify-email\?token="))
    body = text_of(msg)
    link = re.search(r"https?://\S+/verify-email\?token=[^\s\"'<>]+", body)
    assert link, f"no verification link in {body!r}"
    return link.group(0)



@dataclass
class Sides:
    api: object
    case_id: str
    institution_id: str
    learner: str = ""  # the learner's API token, to read the case's state
    staff: str = ""
    mediator: str = ""

    def case(self, token: str) -> dict:
        return self.api.call("GET", f"/api/v1/complaints/{self.case_id}", token, expect=200).json()

    def staff_token(self) -> str:
        if not self.staff:
            _, self.staff = self.api.create_account(
                "institution_staff", "staff", institution_id=self.institution_id
            )
        return self.staff

    def respond_with_refund(self, amount_minor: int) -> None:
        self.api.call(
            "POST",
            f"/api/v1/complaints/{self.case_id}/respond",
            self.staff_token(),
            {
                "message": "We have checked your order and offer a refund of the unused hours.",
                "remedy": "refund",
                "refund": {"amount_minor": amount_minor, "currency": "CNY"},
            },
            expect=200,
        )

    def mediator_claims_and_offers_refund(self, amount_minor: int) -> str:
        """The routed association's mediator claims the case and offers, on the
        institution's behalf, a refund; returns the offer id."""
        admin = self.api.admin()
        association = self.case(admin).get("association_id")
        assert association, "the escalated case is routed to an association"
        _, self.mediator = self.api.create_account(
            "mediator", "mediator", association_id=association
        )
        self.api.call(
            "POST", f"/api/v1/complaints/{self.case_id}/assign", self.mediator, {}, expect=200
        )
        r = self.api.call(
            "POST",
            f"/api/v1/complaints/{self.case_id}/offer",
            self.mediator,
            {
                "on_behalf_of": "institution",
                "terms": [{"kind": "refund", "amount_minor": amount_minor}],
                "note": "Refund of the 30 unused class hours.",
            },
        )
        assert r.status in (200, 201), f"offer: {r.status} {r.text()}"
        return r.json()["id"]

    def institution_marks_fulfilled(self) -> None:
        r = self.api.call(
            "POST", f"/api/v1/complaints/{self.case_id}/settlement/fulfil", self.staff_token()
        )
        assert r.status == 200, f"fulfil: {r.status} {r.text()}"

def settle_on_the_case_page(web, sides: Sides, lang: str, tmp_path, prefix: str) -> None:
    """On the case page (open in `web`): attach a file, write a message; the
    institution responds (API), the learner escalates; the mediator claims and offers
    (API), the learner accepts; the institution marks it fulfilled (API), the learner
    confirms and rates 5. A screenshot and an axe check at every step."""
    page = web.page
    case_url = f"/cases/{sides.case_id}"
    learner = sides.learner
    # Evidence and a message from the case page.
    evidence = tmp_path / "receipt.txt"
    evidence.write_text("Receipt 2026-03-02: 60 class hours, 2400.00 CNY\n", encoding="utf-8")
    upload = page.locator(f"form[action='{case_url}/attachments']")
    upload.locator("input[type=file]").set_input_files(str(evidence))
    web.submit(upload.locator("button[type=submit]"))
    expect(page.locator(f"a[href^='{case_url}/attachments/']", has_text="receipt.txt")).to_have_count(1)
    web.check(f"{prefix}-attachment-{lang}")
    msg = page.locator(f"form[action='{case_url}/messages']")
    msg.locator("[name=text]").fill("The receipt is attached.")
    web.submit(msg.locator("button[type=submit]"))
    expect(page.locator("ol.timeline")).to_contain_text("The receipt is attached.")
    web.check(f"{prefix}-message-{lang}")

    # The institution responds (API); the learner escalates.
    sides.respond_with_refund(60_000)
    web.goto(case_url)
    escalate = page.locator(f"form[action='{case_url}/escalate']")
    expect(escalate).to_be_visible()
    expect(page.locator(f"form[action='{case_url}/accept-response']")).to_be_visible()
    web.check(f"{prefix}-responded-{lang}")
    escalate.locator("[name=reason]").fill("Half of the unused hours is not a fair refund.")
    web.submit(escalate.locator("button[type=submit]"))
    web.check(f"{prefix}-escalated-{lang}")
    assert sides.case(learner)["state"] == "awaiting_mediation"

    # The mediator claims and offers (API); the learner accepts.
    offer_id = sides.mediator_claims_and_offers_refund(REFUND)
    web.goto(case_url)
    accept = page.locator(f"form[action='{case_url}/offers/{offer_id}/accept']")
    expect(accept).to_be_visible()
    web.check(f"{prefix}-offer-{lang}")
    web.submit(accept.locator("button[type=submit]"))
    expect(page.locator("#settlement-status")).to_be_visible()
    web.check(f"{prefix}-settled-{lang}")
    assert sides.case(learner)["state"] == "settled"

    # The institution marks it fulfilled (API); the learner confirms, then rates.
    sides.institution_marks_fulfilled()
    web.goto(case_url)
    confirm = page.locator(f"form[action='{case_url}/settlement/confirm']")
    expect(confirm).to_be_visible()
    web.check(f"{prefix}-fulfilled-{lang}")
    web.submit(confirm.locator("button[type=submit]"))
    web.check(f"{prefix}-confirmed-{lang}")
    rate = page.locator(f"form[action='{case_url}/rating']")
    expect(rate).to_be_visible()
    rate.locator("input[name=score][value='5']").check()
    rate.locator("[name=comment]").fill("Fair and quick.")
    web.submit(rate.locator("button[type=submit]"))
    expect(page.locator("main")).to_contain_text("5 / 5")
    web.check(f"{prefix}-rated-{lang}")
    rated = sides.case(learner)
    assert rated["rating"] == 5, rated.get("rating")

