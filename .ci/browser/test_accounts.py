"""Accounts in the browser: sign in (new session id), sign out (the old session is dead
on the server), CSRF refusal, and the error summary of an invalid form."""

import re

import pytest
from conftest import BASE_URL, LANGS, PASSWORD, SESSION_COOKIE
from playwright.sync_api import expect

ERROR_PREFIX = {"en": "Error: ", "zh-CN": "错误："}


@pytest.mark.parametrize("lang", LANGS)
def test_sign_in_renews_the_session_and_sign_out_ends_it(new_web, api, lang):
    email_ = api.register_learner("session")
    web = new_web()
    page = web.page

    # The anonymous session (it carries the sign-in form's CSRF token) is replaced.
    web.goto(f"/sign-in?lang={lang}")
    before = web.cookie()
    assert before is not None, "the sign-in form's session cookie"
    assert before["httpOnly"] and before["sameSite"] == "Lax"
    web.check(f"sign-in-form-{lang}")
    form = page.locator("main form[action='/sign-in']")
    form.locator("[name=email]").fill(email_)
    form.locator("[name=password]").fill(PASSWORD)
    web.submit(form.locator("button[type=submit]"))
    after = web.cookie()
    assert after is not None and after["value"] != before["value"], "session id renewed at sign-in"
    web.check(f"signed-in-{lang}")
    web.goto(f"/account?lang={lang}")
    expect(page.locator("main")).to_contain_text(email_)
    web.check(f"account-{lang}")

    # Sign out; the old session id no longer signs anyone in, even if replayed.
    web.submit(page.locator("form[action='/sign-out'] button"))
    web.check(f"signed-out-{lang}")
    replay = new_web("replay")
    replay.context.add_cookies([{"name": SESSION_COOKIE, "value": after["value"], "url": BASE_URL}])
    replay.goto(f"/account?lang={lang}")
    assert "/sign-in" in replay.page.url, f"replayed session reached {replay.page.url}"
    replay.check(f"signed-out-replay-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_invalid_sign_up_shows_the_error_summary_and_keeps_the_input(new_web, lang):
    web = new_web()
    page = web.page
    web.goto(f"/sign-up?lang={lang}")
    web.check(f"sign-up-invalid-form-{lang}")
    form = page.locator("main form[action='/sign-up']")
    form.locator("[name=email]").fill("not-an-email")
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("[name=display_name]").fill("韩梅梅")
    web.submit(form.locator("button[type=submit]"), status=422)
    expect(page).to_have_title(re.compile("^" + re.escape(ERROR_PREFIX[lang])))
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("a[href='#email']")).to_have_count(1)
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("[name=email]")).to_have_value("not-an-email")
    expect(page.locator("[name=display_name]")).to_have_value("韩梅梅")
    web.check(f"sign-up-invalid-{lang}")


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(new_web, api):
    email_ = api.register_learner("csrf")
    web = new_web()
    page = web.page
    web.sign_in(email_, PASSWORD, "csrf-sign-in")

    # Change the password with the form's token removed: 403, and the password stays.
    web.goto("/account/password?lang=en")
    web.check("csrf-password-form")
    form = page.locator("main form[action='/account/password']")
    form.locator("input[name=csrf_token]").evaluate("e => e.remove()")
    for field in form.locator("input[type=password]").all():
        name = field.get_attribute("name")
        field.fill(PASSWORD if name == "current_password" else "a brand new passphrase 9")
    web.submit(form.locator("button[type=submit]"), status=403)
    web.check("csrf-refused")

    # A token from another session is refused as well.
    other = new_web("other")
    other.goto("/sign-in?lang=en")
    other.check("csrf-other-session")
    foreign = other.page.locator("input[name=csrf_token]").first.input_value()
    web.goto("/account/password?lang=en")
    web.check("csrf-password-form-again")
    form.locator("input[name=csrf_token]").evaluate("(e, v) => { e.value = v; }", foreign)
    for field in form.locator("input[type=password]").all():
        name = field.get_attribute("name")
        field.fill(PASSWORD if name == "current_password" else "a brand new passphrase 9")
    web.submit(form.locator("button[type=submit]"), status=403)
    web.check("csrf-refused-foreign-token")

    # The old password still signs in through the API; the new one does not.
    assert api.login(email_, PASSWORD)
    r = api.rc.post(
        "/api/v1/auth/login", data={"email": email_, "password": "a brand new passphrase 9"}
    )
    assert r.status == 401, r.status
