"""The learner emails reach the SMTP sink the browser tests read: a case filed through the
API mails its learner the reference and a link to this server."""

import re

from conftest import BASE_URL, PASSWORD, text_of


def test_filing_mails_the_learner_through_the_smtp_sink(api, mail):
    email_ = api.register_learner("mail")
    learner = api.login(email_, PASSWORD)
    inst = api.call("GET", "/api/v1/institutions?status=active&limit=1", api.admin(), expect=200)
    r = api.call(
        "POST",
        "/api/v1/complaints",
        learner,
        {
            "institution_id": inst.json()["items"][0]["id"],
            "category": "refund",
            "title": "Refund for the unused class hours",
            "narrative": "I bought 60 class hours in March and used 30; the school closed the class.",
            "desired_remedy": "full_refund",
        },
    )
    assert r.status == 201, f"file: {r.status} {r.text()}"
    case = r.json()
    msg = mail.wait_for(to=email_, body=re.compile(re.escape(case["reference"])))
    links = re.findall(r"https?://[^\s\"'<>]+", text_of(msg))
    assert f"{BASE_URL}/cases/{case['id']}" in links, links
