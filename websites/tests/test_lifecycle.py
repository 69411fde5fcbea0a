"""A website from request to live, and its reset, SFTP password and deletion, through the
real lane and the YunoHost emulator."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from provisioning.models import Operation
from provisioning.tests.conftest import sha256
from websites.models import Website
from websites.tests.conftest import SITE, confirm_path, confirmation_token, run_lane

API = "/api/websites/"
pytestmark = pytest.mark.django_db


def _request_and_confirm(owner_api, mailoutbox, domain: str = SITE) -> Website:
    created = owner_api.post(API, {"domain": domain})
    assert created.status_code == 202, created.content
    token = confirmation_token(mailoutbox)
    confirmed = owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": token})
    assert confirmed.status_code == 202, confirmed.content
    run_lane()
    return Website.objects.get(pk=created.json()["id"])


def test_a_site_goes_from_request_to_live_with_its_steps_and_emails(owner_api, user, emulator, mailoutbox):
    website = _request_and_confirm(owner_api, mailoutbox)

    assert website.status == Website.Status.LIVE
    assert website.app_id == website.sftp_username == "my_webapp"
    assert website.certificate == Website.Certificate.OK
    state = emulator.state()
    assert state["domains"][SITE]["cert"] == "letsencrypt"
    [app] = state["apps"]
    assert (app["domain"], app["path"], app["settings"]["with_sftp"]) == (SITE, "/", 1)
    kinds = list(Operation.objects.filter(args__website_id=website.pk).order_by("id").values_list("kind", "status"))
    assert kinds == [("domain.add", "succeeded"), ("app.install", "succeeded"), ("cert.install", "succeeded")]
    subjects = {op.subject for op in Operation.objects.all()}
    assert subjects == {f"site:{SITE}", f"cert:{SITE}"}
    subjects_sent = [m.subject for m in mailoutbox]
    assert subjects_sent == [
        f"Confirm your website {SITE}",
        f"Your website {SITE} is online",
        f"The SFTP password of {SITE}",
    ]
    confirm = mailoutbox[0]
    assert set(confirm.to) == {user.mail_address, user.email}
    live, password_mail = mailoutbox[1], mailoutbox[2]
    assert "my_webapp" in live.body and "password" not in live.body.split("SFTP password comes")[0].lower()
    password = password_mail.body.split("is:\n\n", 1)[1].split("\n", 1)[0]
    assert len(password) == 24 and "{" not in password and "}" not in password
    assert app["settings"]["password_sha256"] == sha256(password)
    website.refresh_from_db()
    assert website.pending_password == ""  # the one email is sent: no copy left, not even encrypted
    assert password not in "".join(Operation.objects.values_list("output", flat=True))
    body = owner_api.get(f"{API}{website.pk}").json()
    assert body["status"] == "live" and body["sftp_username"] == "my_webapp" and body["verification"] is None
    assert [s["state"] for s in body["steps"]] == ["done"] * 5


def test_a_second_site_gets_the_next_instance_and_a_deleted_one_frees_its_domain(
    owner_api, user, plus_tier, emulator, mailoutbox
):
    user.tier = plus_tier
    user.save()
    first = _request_and_confirm(owner_api, mailoutbox)
    second = _request_and_confirm(owner_api, mailoutbox, domain="bob2.blahaj.land")
    assert (first.app_id, second.app_id) == ("my_webapp", "my_webapp__2")

    deleted = owner_api.delete(f"{API}{first.pk}")
    assert deleted.status_code == 202 and deleted.json()["status"] == "deleting"
    run_lane()

    first.refresh_from_db()
    assert first.status == Website.Status.DELETED and first.deleted_at is not None
    assert SITE not in emulator.state()["domains"]
    assert [a["id"] for a in emulator.state()["apps"]] == ["my_webapp__2"]
    assert mailoutbox[-1].subject == f"Your website {SITE} was deleted"
    assert owner_api.get(f"{API}{first.pk}").status_code == 404
    again = owner_api.post(API, {"domain": SITE})
    assert again.status_code == 202, again.content
    assert Website.objects.filter(domain=SITE).count() == 2


def test_reset_and_a_new_sftp_password_keep_the_login_and_mail_the_password_once(owner_api, emulator, mailoutbox):
    website = _request_and_confirm(owner_api, mailoutbox)
    before = len(mailoutbox)

    rotated = owner_api.post(f"{API}{website.pk}/sftp-password")
    run_lane()

    assert rotated.status_code == 202
    assert "password" not in rotated.content.decode().replace("sftp-password", "")
    [mail] = mailoutbox[before:]
    password = mail.body.split("is:\n\n", 1)[1].split("\n", 1)[0]
    [app] = emulator.state()["apps"]
    assert app["settings"]["password_sha256"] == sha256(password)
    assert emulator.log("app config set")[-1]["argv"][:5] == ["app", "config", "set", "my_webapp", "main"]

    reset = owner_api.post(f"{API}{website.pk}/reset")
    run_lane()

    assert reset.status_code == 202
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE and website.sftp_username == "my_webapp"
    assert [a["id"] for a in emulator.state()["apps"]] == ["my_webapp"]
    assert len(emulator.log("app install")) == 2
    assert mailoutbox[-1].subject == f"The SFTP password of {website.domain}"


def test_a_failure_midway_leaves_the_site_failed_at_that_step_and_a_retry_goes_on_from_there(
    owner_api, staff_api, emulator, mailoutbox, staff_notes, settings
):
    settings.YUNOHOST_MAX_ATTEMPTS = 1
    emulator.add_fault(command="app install", exit=1, stderr="Error: The install script failed", times=1)
    website = _request_and_confirm(owner_api, mailoutbox)

    assert website.status == Website.Status.FAILED and website.failed_step == "app.install"
    assert website.error
    assert mailoutbox[-1].subject == f"Your website {SITE} could not be set up yet"
    assert "install the web space" in mailoutbox[-1].body
    assert [event for event, _ in staff_notes][-1] == "website_failed"
    owner_view = owner_api.get(f"{API}{website.pk}").json()
    assert owner_view["steps"][2]["state"] == "failed" and owner_view["steps"][2]["error"] != website.error
    assert staff_api.get(f"{API}{website.pk}").json()["steps"][2]["error"] == website.error
    assert len(emulator.log("domain add")) == 1

    failed = Operation.objects.get(kind="app.install", status="failed")
    retried = staff_api.post(f"/api/operations/{failed.pk}/retry")
    assert retried.status_code == 202, retried.content
    run_lane()

    website.refresh_from_db()
    assert website.status == Website.Status.LIVE and website.failed_step == ""
    assert len(emulator.log("domain add")) == 1  # continued from the failed step
    assert mailoutbox[-1].subject == f"The SFTP password of {SITE}"


def test_the_certificate_is_a_background_step_that_never_fails_the_site(owner_api, emulator, mailoutbox, settings):
    settings.YUNOHOST_CERT_RETRY_SCHEDULE = [900]  # two attempts, 15 minutes apart
    emulator.add_fault(command="domain cert install", exit=1, stderr="Error: Certificate installation failed", times=5)
    website = _request_and_confirm(owner_api, mailoutbox)
    assert website.certificate == Website.Certificate.PENDING
    Operation.objects.filter(kind="cert.install").update(next_attempt_at=timezone.now())  # 15 minutes later
    run_lane()
    website.refresh_from_db()

    assert website.status == Website.Status.LIVE
    assert website.certificate == Website.Certificate.FAILING
    assert Operation.objects.get(kind="cert.install").status == "failed"


def test_the_progress_page_shows_the_steps_and_then_the_sftp_access(owner_api, emulator, mailoutbox):
    created = owner_api.post(API, {"domain": SITE})
    path = confirm_path(mailoutbox)
    opened = Client().get(path)
    assert opened.status_code == 302 and opened["Location"].startswith("/website_being_made?site=")

    page = Client().get(opened["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'http-equiv="refresh"' in html and "Domain added to the server" in html
    run_lane()
    live = Client().get(opened["Location"]).content.decode()
    assert "https://alice.blahaj.land/" in live and "my_webapp" in live and 'http-equiv="refresh"' not in live

    again = Client().get(path)
    assert again.status_code == 302 and "already=1" in again["Location"]
    assert "already confirmed" in Client().get(again["Location"]).content.decode()
    assert len(emulator.log("domain add")) == 1
    key = again["Location"].split("site=", 1)[1].split("&", 1)[0]
    progress = Client().get(f"/websites/{created.json()['id']}/progress?key={key}")
    assert progress.status_code == 200 and progress.json()["sftp"]["username"] == "my_webapp"
    assert Client().get(f"/websites/{created.json()['id']}/progress?key=forged").status_code == 404


def test_the_install_is_a_static_my_webapp_with_url_encoded_answers(owner_api, emulator, mailoutbox):
    _request_and_confirm(owner_api, mailoutbox)

    [install] = emulator.log("app install")
    argv = install["argv"]
    assert argv[:4] == ["app", "install", "my_webapp", "--force"]
    answers = next(arg for arg in argv if arg.startswith("--args="))
    assert "domain=alice.blahaj.land&path=%2F&with_sftp=1&password=" in answers
    assert answers.endswith("init_main_permission=visitors&phpversion=none&database=none&custom_error_file=0")
    [app] = emulator.state()["apps"]
    assert (app["settings"]["phpversion"], app["settings"]["database"]) == ("none", "none")


def test_a_deleted_sites_failed_step_cannot_be_retried_and_its_certificate_step_ends_quietly(
    owner_api, staff_api, emulator, mailoutbox, settings
):
    settings.YUNOHOST_MAX_ATTEMPTS = 1
    emulator.add_fault(command="app install", exit=1, stderr="Error: The install script failed", times=1)
    website = _request_and_confirm(owner_api, mailoutbox)
    assert owner_api.delete(f"{API}{website.pk}").status_code == 202
    run_lane()
    website.refresh_from_db()
    assert website.status == Website.Status.DELETED and SITE not in emulator.state()["domains"]

    failed = Operation.objects.get(kind="app.install", status="failed")
    response = staff_api.post(f"/api/operations/{failed.pk}/retry")

    assert response.status_code == 409 and response.json()["code"] == "website_deleted"
    failed.refresh_from_db()
    assert failed.status == "failed"
    run_lane()
    assert emulator.state()["apps"] == [] and SITE not in emulator.state()["domains"]


def test_a_certificate_step_for_a_domain_gone_meanwhile_succeeds_without_effect(emulator):
    from provisioning import services as lane_services

    operation = lane_services.operation_create(
        kind="cert.install", subject="cert:gone.blahaj.land", args={"domain": "gone.blahaj.land"}
    )
    run_lane()

    operation.refresh_from_db()
    assert operation.status == "succeeded" and "no longer on YunoHost" in operation.output
