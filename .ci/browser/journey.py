"""The other side of a learner's case, through the JSON API: the institution's staff and
the mediator of the association the case is routed to, as accounts the demo admin makes."""

from dataclasses import dataclass, field


@dataclass
class Sides:
    api: object
    case_id: str
    institution_id: str
    staff: str = ""
    mediator: str = ""
    log: list = field(default_factory=list)

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
