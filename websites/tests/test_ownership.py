"""A member cannot take over what the admins made on YunoHost by hand: a domain with an app of
theirs (`staffdocs`) or a bare one (`lists`). The request is refused, a row that got through
anyway is refused by the lane, and no step resets, hands out, suspends or removes what the
service did not make. Played on both backends: the CLI emulator and the HTTP one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

import yunohost_emulator as emulator_module
from accounts.models import User
from conftest import PASSWORD, committed
from deletion import services as deletion
from provisioning.models import Operation, OwnedObject
from provisioning.tests.conftest import http_emulator, sha256, tls_cert  # noqa: F401 - fixtures
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token, run_lane
from websites.tests.test_account_deletion import on_yunohost  # noqa: F401 - fixture

API = "/api/websites/"
STAFFDOCS = f"staffdocs.{settings.YUNOHOST_DOMAIN}"
LISTS = f"lists.{settings.YUNOHOST_DOMAIN}"
ADMIN_PASSWORD = "Adm1ns-own-Secret"
ADMIN_APP = "my_webapp__4"
pytestmark = pytest.mark.django_db


@pytest.fixture(params=["cli", "api"])
def backend(request, emulator) -> str:
    """The lane and the request talk to the CLI emulator, or to the HTTP one over TLS."""
    if request.param == "api":
        request.getfixturevalue("http_emulator")
    return request.param


def _admins_domain(emulator, domain: str, *, app: bool) -> None:
    """What an admin made by hand on the server: the domain, and my_webapp__4 on it."""
    with emulator_module.transaction(str(emulator.path)) as state:
        state["domains"][domain] = {"cert": "letsencrypt"}
        if app:
            settings_ = {"domain": domain, "path": "/", "with_sftp": 1, "password_sha256": sha256(ADMIN_PASSWORD)}
            state["apps"].append(
                {"id": ADMIN_APP, "label": "Staff docs", "domain": domain, "path": "/", "settings": settings_}
            )


def _admins_objects(emulator) -> tuple[list, dict]:
    state = emulator.state()
    return [a for a in state["apps"] if a["id"] == ADMIN_APP], {
        d: v for d, v in state["domains"].items() if d in (STAFFDOCS, LISTS)
    }


def _request(owner_api, domain: str):
    return owner_api.post(API, {"domain": domain})


def _confirm(owner_api, mailoutbox, website_id: int) -> None:
    confirmed = owner_api.post(f"{API}{website_id}/confirm", {"token": confirmation_token(mailoutbox)})
    assert confirmed.status_code == 202, confirmed.content


@pytest.mark.parametrize("domain", [STAFFDOCS, LISTS])
def test_a_name_the_admins_have_on_yunohost_is_refused_at_the_request(backend, owner_api, emulator, domain):
    _admins_domain(emulator, STAFFDOCS, app=True)
    _admins_domain(emulator, LISTS, app=False)
    before = _admins_objects(emulator)

    response = _request(owner_api, domain)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "domain_exists_on_yunohost"
    assert "already in use on our server" in response.json()["error"]
    assert not Website.objects.exists() and not Operation.objects.exists()
    assert _admins_objects(emulator) == before


def test_a_request_goes_on_when_yunohost_does_not_answer_and_the_lane_checks_again(owner_api, settings, caplog):
    settings.YUNOHOST_BIN = "/nonexistent/yunohost"

    response = _request(owner_api, SITE)

    assert response.status_code == 202, response.content
    assert "domain list could not be read" in caplog.text


def test_a_domain_that_appears_after_the_request_is_refused_by_the_lane_and_left_alone(
    backend, owner_api, emulator, mailoutbox, staff_notes
):
    created = _request(owner_api, STAFFDOCS)
    assert created.status_code == 202, created.content
    _admins_domain(emulator, STAFFDOCS, app=True)  # the admins made it meanwhile
    before = _admins_objects(emulator)
    _confirm(owner_api, mailoutbox, created.json()["id"])
    run_lane()

    website = Website.objects.get(pk=created.json()["id"])
    assert website.status == Website.Status.FAILED and website.failed_step == "domain.add"
    assert "was not made by this service" in website.error and website.app_id == ""
    step = Operation.objects.get(kind="domain.add")
    assert step.status == "failed" and step.attempts == 1  # permanent: no retries
    assert not Operation.objects.filter(kind="app.install").exists()
    assert emulator.log("domain add") == []

    # Nothing to reset or hand out; the deletion leaves the admins' domain and app.
    assert owner_api.post(f"{API}{website.pk}/sftp-password").status_code == 409
    assert owner_api.post(f"{API}{website.pk}/reset").status_code == 409
    assert owner_api.delete(f"{API}{website.pk}").status_code == 202
    run_lane()

    website.refresh_from_db()
    assert website.status == Website.Status.DELETED
    assert _admins_objects(emulator) == before
    [app] = before[0]
    assert app["settings"]["password_sha256"] == sha256(ADMIN_PASSWORD)
    assert emulator.log("app remove") == [] and emulator.log("domain remove") == []
    assert "left in place" in Operation.objects.get(kind="domain.remove").output


def test_a_bare_domain_that_appears_after_the_request_is_refused_and_kept(backend, owner_api, emulator, mailoutbox):
    created = _request(owner_api, LISTS)
    _admins_domain(emulator, LISTS, app=False)
    _confirm(owner_api, mailoutbox, created.json()["id"])
    run_lane()
    assert Website.objects.get(pk=created.json()["id"]).failed_step == "domain.add"

    owner_api.delete(f"{API}{created.json()['id']}")
    run_lane()

    assert Website.objects.get(pk=created.json()["id"]).status == Website.Status.DELETED
    assert LISTS in emulator.state()["domains"] and emulator.log("domain remove") == []


def test_the_install_never_adopts_an_app_it_did_not_make(backend, owner_api, emulator, mailoutbox):
    created = _request(owner_api, SITE)
    # An admin's app at the name, by hand, before our domain.add runs (and then finds no domain).
    with emulator_module.transaction(str(emulator.path)) as state:
        state["apps"].append({"id": ADMIN_APP, "label": "Hand-made", "domain": SITE, "path": "/", "settings": {}})
    _confirm(owner_api, mailoutbox, created.json()["id"])
    run_lane()

    website = Website.objects.get(pk=created.json()["id"])
    assert website.status == Website.Status.FAILED and website.failed_step == "app.install"
    assert ADMIN_APP in website.error and website.app_id == "" and website.sftp_username == ""
    assert emulator.log("app install") == [] and len(emulator.log("domain add")) == 1
    assert [a["id"] for a in emulator.state()["apps"]] == [ADMIN_APP]
    assert OwnedObject.objects.get(kind="domain", name=SITE).state == "created"


def test_removal_removes_our_app_and_keeps_a_foreign_app_and_its_domain(backend, owner_api, emulator, mailoutbox):
    created = _request(owner_api, SITE)
    _confirm(owner_api, mailoutbox, created.json()["id"])
    run_lane()
    assert Website.objects.get(pk=created.json()["id"]).status == Website.Status.LIVE
    with emulator_module.transaction(str(emulator.path)) as state:  # an admin's app beside ours
        state["apps"].append(
            {"id": ADMIN_APP, "label": "Hand-made", "domain": SITE, "path": "/.well-known/x", "settings": {}}
        )

    owner_api.delete(f"{API}{created.json()['id']}")
    run_lane()

    assert Website.objects.get(pk=created.json()["id"]).status == Website.Status.DELETED
    state = emulator.state()
    assert [a["id"] for a in state["apps"]] == [ADMIN_APP] and SITE in state["domains"]
    assert [e["argv"][:3] for e in emulator.log("app remove")] == [["app", "remove", "my_webapp"]]
    assert emulator.log("domain remove") == []


def test_the_sftp_password_reset_and_access_act_only_on_our_recorded_app(backend, owner_api, emulator, mailoutbox):
    _admins_domain(emulator, STAFFDOCS, app=True)
    created = _request(owner_api, SITE)
    _confirm(owner_api, mailoutbox, created.json()["id"])
    run_lane()
    website = Website.objects.get(pk=created.json()["id"])
    # A row pointing at the admins' app (however it came to): no step acts on it.
    Website.objects.filter(pk=website.pk).update(app_id=ADMIN_APP, sftp_username=ADMIN_APP)

    assert owner_api.post(f"{API}{website.pk}/sftp-password").status_code == 202
    run_lane()

    failed = Operation.objects.get(kind="app.config_set")
    assert failed.status == "failed" and "was not made by this service" in failed.error
    [app] = _admins_objects(emulator)[0]
    assert app["settings"]["password_sha256"] == sha256(ADMIN_PASSWORD)
    assert emulator.log("app config set") == []
    assert OwnedObject.objects.filter(kind="app", name=ADMIN_APP).count() == 0


def test_a_removal_run_again_after_its_domain_went_ends_and_so_does_the_account_waiting_on_it(
    backend,
    on_yunohost,  # noqa: F811
    owner_api,
    emulator,
    mailoutbox,
    settings,
):
    settings.YUNOHOST_RETRY_BACKOFF = 0
    created = _request(owner_api, SITE)
    _confirm(owner_api, mailoutbox, created.json()["id"])
    run_lane()
    assert owner_api.post("/api/user/delete", {"password": PASSWORD}).status_code == 202
    User.objects.filter(pk=on_yunohost.pk).update(deletes_at=timezone.now() - timedelta(seconds=1))
    # The domain is removed, then the answer is lost (the worker died between the command and
    # its outcome): the step runs again on a domain already gone.
    emulator.add_fault(command="domain remove", after=True, exit=1, stderr="ERROR The worker died")

    with committed():
        deletion.deletions_finalize()
    run_lane()

    remove = Operation.objects.get(kind="domain.remove")
    assert remove.status == "succeeded" and remove.attempts == 2, remove.error
    assert "not on YunoHost" in remove.output
    # The re-run read `domain list` instead of forcing a removal of what is gone.
    [once] = emulator.log("domain remove")
    assert "--force" not in once["argv"] and "--remove-apps" not in once["argv"]
    # The site was deleted, and the account waiting on it finished (its rows went with it).
    assert not Website.objects.exists() and not User.objects.filter(username="alice").exists()
    assert "alice" not in emulator.state()["users"] and SITE not in emulator.state()["domains"]


@pytest.mark.parametrize(
    "label", ["accounts", "portal", "webadmin", "admin", "ns3", "mx", "dmarc", "autodiscover", "xmpp"]
)
def test_names_a_yunohost_host_and_its_mail_server_use_are_reserved(owner_api, label):
    response = _request(owner_api, f"{label}.{settings.YUNOHOST_DOMAIN}")

    assert response.status_code == 400 and response.json()["code"] == "domain_not_allowed"
    assert "is reserved" in response.json()["error"]


def test_the_reserved_names_are_a_setting(owner_api, settings):
    settings.WEBSITES_RESERVED_NAMES = ["shop"]

    assert _request(owner_api, f"shop.{settings.YUNOHOST_DOMAIN}").json()["code"] == "domain_not_allowed"
    assert _request(owner_api, f"accounts.{settings.YUNOHOST_DOMAIN}").status_code == 202


@pytest.mark.parametrize(
    ("domain", "sentence"),
    [
        (f"\u0430lice.{settings.YUNOHOST_DOMAIN}", "may not mix writing systems"),  # a Cyrillic a
        ("p\u0430ypal.example.org", "may not mix writing systems"),
        ("a\u200db.example.org", "IDNA 2008"),  # a joiner where the rules forbid it
        ("\U0001f988.example.org", "IDNA 2008"),  # an emoji: valid in IDNA 2003 only
        ("xn--aaa.example.org", "IDNA 2008"),  # punycode of nothing valid
    ],
)
def test_names_that_are_not_idna_2008_or_mix_scripts_are_refused_with_a_field_error(
    owner_api, user, plus_tier, domain, sentence
):
    user.tier = plus_tier
    user.save()

    response = _request(owner_api, domain)

    assert response.status_code == 400 and response.json()["code"] == "domain_invalid"
    assert sentence in response.json()["fields"]["domain"][0]
    assert domain not in response.content.decode()  # the input is never echoed


def test_an_internationalized_name_in_one_script_is_accepted_as_punycode(owner_api, user, plus_tier):
    user.tier = plus_tier
    user.save()

    response = _request(owner_api, "b\u00fccher.example.org")

    assert response.status_code == 202, response.content
    assert response.json()["domain"] == "xn--bcher-kva.example.org"


def test_sites_made_before_the_records_keep_their_domain_and_app_but_a_taken_over_one_gets_nothing(make_user):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("websites.migrations.0003_record_owned_objects")
    ours, taken = make_user("dora"), make_user("eve")
    live = Website.objects.create(owner=ours, domain=SITE, status="live", app_id="my_webapp", verification_token="t")
    hijack = Website.objects.create(
        owner=taken, domain=STAFFDOCS, status="live", app_id=ADMIN_APP, verification_token="u"
    )
    for site, output, attempts in ((live, "", 1), (hijack, '{"note": "The domain already existed"}', 1)):
        Operation.objects.create(
            kind="domain.add",
            subject=site.subject,
            sequence=1,
            status="succeeded",
            args={"website_id": site.pk, "domain": site.domain},
            output=output,
            attempts=attempts,
        )

    migration.record(apps, None)
    migration.record(apps, None)  # run twice: nothing doubled

    records = set(OwnedObject.objects.values_list("kind", "name", "domain", "state"))
    assert records == {("domain", SITE, SITE, "created"), ("app", "my_webapp", SITE, "created")}


def test_git_publishing_and_access_never_act_on_an_app_this_service_did_not_make(emulator):
    from provisioning.commands import execute
    from provisioning.owned import NotOurs

    _admins_domain(emulator, STAFFDOCS, app=True)

    with pytest.raises(NotOurs, match="was not made by this service"):
        execute("webapp.git_sync", {"domain": STAFFDOCS, "app": ADMIN_APP, "git_url": "https://example.org/r"}, {})
    suspended = {"domain": STAFFDOCS, "path": "/", "state": "suspended", "owner": "alice"}
    assert "No app of this service" in execute("webapp.access", suspended, {})["note"]
    assert emulator.log("user permission") == []
    [app] = _admins_objects(emulator)[0]
    assert "allowed" not in app  # its access untouched


def test_domain_exists_is_ours_only_after_an_attempt_of_ours(emulator):
    from provisioning.commands import execute
    from provisioning.owned import NotOurs

    # Listed as absent, then "already exists": someone else was faster, unless we tried before.
    emulator.add_fault(command="domain add", exit=1, stderr="ERROR The domain already exists")
    with pytest.raises(NotOurs):
        execute("domain.add", {"domain": SITE}, {})
    assert OwnedObject.objects.get(kind="domain", name=SITE).state == "removed"

    OwnedObject.objects.create(kind="domain", name=SITE, domain=SITE)  # an attempt whose outcome is unknown
    emulator.add_fault(command="domain add", exit=1, stderr="ERROR The domain already exists")
    assert "earlier attempt" in execute("domain.add", {"domain": SITE}, {})["note"]
    assert OwnedObject.objects.filter(kind="domain", name=SITE, state="created").count() == 1
