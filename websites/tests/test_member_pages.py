"""A member's websites on their pages (/account/websites/...), driven by Django's test client:
the list and the tier's allowance, the request form and its errors, a site's progress, its DNS
record and "check now", its SFTP password, reset, deletion and deploys, each through the lane,
the emulator and the same services as the API."""

from __future__ import annotations

import re

import pytest
from django.test import Client, TestCase

from conftest import PASSWORD
from provisioning.models import Operation
from provisioning.tests.conftest import sha256
from publishing.models import Deploy
from publishing.services import webhook_deliver
from publishing.tests.conftest import sftp_server  # noqa: F401 - the emulator's SFTP door
from websites import services
from websites.models import Website
from websites.tests.conftest import SITE, confirm_path, run_lane
from websites.tests.test_dns import zone  # noqa: F401 - a real DNS server on 127.0.0.1
from websites.tests.test_git import repository  # noqa: F401 - a git server over https on 127.0.0.1

pytestmark = pytest.mark.django_db

LIST, NEW = "/account/websites/", "/account/websites/new/"
LOGIN = "/account/login/"


class Browser:
    """A test client whose requests run what they queued after their commit (emails, the lane)."""

    def __init__(self) -> None:
        self.client = Client()

    def get(self, path: str, **extra):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.get(path, **extra)

    def post(self, path: str, data=None, **extra):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.post(path, data or {}, **extra)


def html(response) -> str:
    return response.content.decode()


def text(response) -> str:
    """The page's words, without tags or repeated spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response)))


def _sign_in(username: str) -> Browser:
    browser = Browser()
    response = browser.post(LOGIN, {"identifier": username, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/account/")
    return browser


@pytest.fixture
def member(user, tasks_inline, emulator) -> Browser:
    return _sign_in(user.username)


@pytest.fixture
def other_member(other_user, tasks_inline) -> Browser:
    return _sign_in(other_user.username)


def detail(website: Website) -> str:
    return f"{LIST}{website.pk}/"


def _request(member: Browser, **fields: str) -> Website:
    response = member.post(NEW, {"kind": "sftp", **fields})
    assert response.status_code == 302, text(response)
    website = Website.objects.latest("id")
    assert response["Location"] == detail(website)
    return website


def _live(member: Browser, mailoutbox, **fields: str) -> Website:
    website = _request(member, name="alice", **fields)
    opened = member.get(confirm_path(mailoutbox))  # the emailed link
    assert opened.status_code == 302
    run_lane()
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    return website


def _field_error(response, field: str) -> str:
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html(response), re.S)
    assert found, f"no error next to {field}: {text(response)}"
    return re.sub(r"<[^>]+>", "", found.group(1))


# --- signed in only; somebody else's site is a 404 ---------------------------------------------


@pytest.mark.parametrize(
    "path", [LIST, NEW, f"{LIST}1/", f"{LIST}1/reset/", f"{LIST}1/delete/", f"{LIST}1/sftp-password/"]
)
def test_anonymous_visitors_are_sent_to_the_login_page_first(path, db):
    response = Client().get(path)

    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next={path}")


def test_an_anonymous_post_changes_nothing_and_is_sent_to_the_login_page(user, tasks_inline, emulator, mailoutbox):
    website = _request(_sign_in(user.username), name="alice")

    response = Client().post(f"{detail(website)}delete/")

    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next={detail(website)}delete/")
    website.refresh_from_db()
    assert website.status == Website.Status.PENDING_CONFIRMATION


def test_another_members_site_is_a_404_on_every_page_and_action(member, other_member, mailoutbox):
    website = _live(member, mailoutbox)
    operations = Operation.objects.count()

    for path in ("", "reset/", "delete/", "sftp-password/", "webhook-secret/"):
        assert other_member.get(f"{detail(website)}{path}").status_code == 404, path
    for path in ("check/", "deploy/", "reset/", "delete/", "sftp-password/", "webhook-secret/"):
        response = other_member.post(f"{detail(website)}{path}")
        assert response.status_code == 404, path
        assert "Website not found" in text(response)
    assert other_member.get(f"{LIST}999999999999999999999999/").status_code == 404
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    assert Operation.objects.count() == operations
    assert SITE not in text(other_member.get(LIST))


# --- the list, the allowance and the request form -----------------------------------------------


def test_the_member_navigation_links_to_the_websites(member):
    for path in ("/account/", "/account/sessions/", LIST):
        assert f'<a href="{LIST}">Websites</a>' in html(member.get(path)), path


def test_the_list_tells_what_the_tier_allows_before_any_site(member):
    response = member.get(LIST)

    assert response.status_code == 200
    words = text(response)
    assert "allows 1 website , each a name under blahaj.land (not your own domain)" in words
    assert "You have 0 : you may request 1 more" in words
    assert "You have no website yet." in words
    assert f'href="{NEW}"' in html(response)


def test_requesting_a_site_on_the_form_mails_the_link_and_shows_the_site(member, user, mailoutbox):
    form = member.get(NEW)
    assert form.status_code == 200
    page = html(form)
    assert 'name="csrfmiddlewaretoken"' in page
    assert "<legend>Kind of website</legend>" in page and '<label for="id_name">Name</label>' in page
    assert 'name="custom_domain"' not in page  # the starter tier: names under blahaj.land only

    response = member.post(NEW, {"kind": "sftp", "name": "alice"})

    website = Website.objects.get()
    assert (response.status_code, response["Location"]) == (302, detail(website))
    assert (website.owner, website.domain, website.kind) == (user, SITE, "sftp")
    assert website.status == Website.Status.PENDING_CONFIRMATION
    assert [m.subject for m in mailoutbox] == [f"Confirm your website {SITE}"]
    page = member.get(detail(website))
    assert page.status_code == 200
    words = text(page)
    assert f"We emailed you a link to confirm {SITE}" in words
    assert "Waiting for you to open the confirmation link we emailed." in words
    listed = text(member.get(LIST))
    assert SITE in listed and "Pending confirmation" in listed


def test_the_forms_are_csrf_protected(user, tasks_inline, emulator, mailoutbox):
    browser = Browser()
    browser.client = Client(enforce_csrf_checks=True)
    page = browser.get(LOGIN)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(page))
    assert token
    signed_in = browser.post(LOGIN, {"identifier": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token[1]})
    assert signed_in.status_code == 302

    forged = browser.post(NEW, {"kind": "sftp", "name": "alice"})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(browser.get(NEW)))
    assert token
    sent = browser.post(NEW, {"kind": "sftp", "name": "alice", "csrfmiddlewaretoken": token[1]})

    assert forged.status_code == 403
    assert sent.status_code == 302 and Website.objects.get().domain == SITE


def test_the_whole_address_typed_as_the_name_is_the_same_site(member):
    website = _request(member, name=SITE)

    assert website.domain == SITE


def test_at_the_limit_the_form_says_so_and_is_disabled_and_a_post_is_refused(member, mailoutbox):
    _request(member, name="alice")

    listed = member.get(LIST)
    form = member.get(NEW)
    refused = member.post(NEW, {"kind": "sftp", "name": "alice2"})

    assert "You have 1 ." in text(listed) and f'href="{NEW}"' not in html(listed)
    assert "You have all the websites your tier allows" in text(listed)
    assert '<fieldset class="plain" id="website-form" disabled>' in html(form)
    assert "You have all the websites your tier allows" in text(form)
    assert refused.status_code == 409
    assert "Your tier&#x27;s website limit is reached." in html(refused)
    assert Website.objects.count() == 1


def test_a_tier_with_more_sites_and_custom_domains_offers_both_addresses(member, user, plus_tier, mailoutbox):
    user.tier = plus_tier
    user.save()

    form = member.get(NEW)
    _request(member, name="alice")
    custom = _request(member, custom_domain="alice.example.org")
    after = text(member.get(LIST))

    assert "allows 3 websites , each a name under blahaj.land or your own domain" in text(form)
    assert "<legend>Address: fill in one</legend>" in html(form) and 'name="custom_domain"' in html(form)
    assert custom.domain == "alice.example.org" and custom.is_custom_domain
    assert "You have 2 : you may request 1 more" in after


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"name": ""}, "name", "Choose a name"),
        ({"name": "Alice"}, "name", "lower case"),
        ({"name": "www"}, "name", "reserved"),
        ({"name": "a.b"}, "name", "one label"),
        ({"name": "-x-"}, "name", "not a valid domain name"),
        ({"name": "x" * 300}, "name", "at most 253 characters"),
        ({"name": "alice\x00"}, "name", "Null characters are not allowed"),
        ({"name": "alice", "kind": "git"}, "git_url", "needs one"),
        ({"name": "alice", "kind": "ssg", "git_url": "http://codeberg.org/a/b"}, "git_url", "https://"),
        ({"name": "alice", "kind": "git", "git_url": "https://evil.example/a/b"}, "git_url", "one of"),
        ({"name": "alice", "git_url": "https://codeberg.org/a/b"}, "git_url", "an SFTP site takes no git URL"),
        ({"name": "alice", "kind": "ftp"}, "kind", "Select a valid choice"),
    ],
)
def test_bad_input_is_named_next_to_its_field_and_in_the_summary(member, fields, field, error):
    response = member.post(NEW, {"kind": "sftp", **fields})

    assert response.status_code == 400
    assert error in _field_error(response, field)
    assert "Please fix the fields marked below." in text(response)
    assert Website.objects.count() == 0


def test_a_taken_name_is_refused_next_to_the_name(member, other_member, mailoutbox):
    other_member.post(NEW, {"kind": "sftp", "name": "alice"})

    response = member.post(NEW, {"kind": "sftp", "name": "alice"})

    assert response.status_code == 409
    assert "already taken" in _field_error(response, "name")


def test_a_custom_domain_is_ignored_on_a_tier_without_them_and_its_errors_land_on_its_field(
    member, user, plus_tier, mailoutbox
):
    starter = member.post(NEW, {"kind": "sftp", "custom_domain": "alice.example.org"})
    user.tier = plus_tier
    user.save()
    neither = member.post(NEW, {"kind": "sftp", "name": "", "custom_domain": ""})
    both = member.post(NEW, {"kind": "sftp", "name": "alice", "custom_domain": "alice.example.org"})
    bad = member.post(NEW, {"kind": "sftp", "custom_domain": "example"})
    taken = member.post(NEW, {"kind": "sftp", "custom_domain": "accounts.blahaj.land"})

    assert starter.status_code == 400 and "Choose a name" in _field_error(starter, "name")  # no such field here
    assert neither.status_code == 400 and "or write your own domain" in _field_error(neither, "name")
    assert both.status_code == 400 and "Fill in one only" in _field_error(both, "custom_domain")
    assert bad.status_code == 400 and "not a valid domain name" in _field_error(bad, "custom_domain")
    assert taken.status_code == 400 and "is reserved" in _field_error(taken, "custom_domain")
    assert Website.objects.count() == 0


# --- a site's page: progress, DNS, SFTP, actions -------------------------------------------------


def test_the_page_follows_the_site_to_live_and_shows_its_sftp_access(member, mailoutbox):
    website = _live(member, mailoutbox)

    response = member.get(detail(website))

    assert response.status_code == 200
    page, words = html(response), text(response)
    assert "<h1>alice.blahaj.land</h1>" in page and "Your website is online." in words
    assert re.findall(r'data-state="(\w+)"', page) == ["done"] * 5
    assert '<dd id="sftp-host">alice.blahaj.land</dd>' in page
    assert '<dd id="sftp-port">22</dd>' in page and '<dd id="sftp-username">my_webapp</dd>' in page
    assert f'href="{detail(website)}sftp-password/"' in page and f'href="{detail(website)}reset/"' in page
    assert "Prove the domain is yours" not in words  # a name under blahaj.land needs no record
    assert "access_extra" not in words  # the shared template's comment stays a comment
    assert "Live" in text(member.get(LIST))


def test_a_custom_domain_shows_its_record_and_check_now_finds_it(member, user, plus_tier, mailoutbox, zone):  # noqa: F811
    user.tier = plus_tier
    user.save()
    website = _request(member, custom_domain="alice.example.org")
    member.get(confirm_path(mailoutbox))
    website.refresh_from_db()
    assert website.status == Website.Status.PENDING_VERIFICATION

    page = member.get(detail(website))
    missing = member.post(f"{detail(website)}check/")
    zone.txt["_blahaj-verify.alice.example.org"] = [website.verification_token]
    found = member.post(f"{detail(website)}check/")

    assert '<dd id="dns-record-name">_blahaj-verify.alice.example.org</dd>' in html(page)
    assert f'<dd id="dns-record-value">{website.verification_token}</dd>' in html(page)
    assert f'action="{detail(website)}check/"' in html(page) and "Check now" in text(page)
    assert missing.status_code == 409
    assert "We did not find the TXT record _blahaj-verify.alice.example.org" in text(missing)
    assert (found.status_code, found["Location"]) == (302, detail(website))
    assert "alice.example.org is verified" in text(member.get(detail(website)))
    run_lane()
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE and website.verified_at is not None
    assert "Your domain is verified" in text(member.get(detail(website)))


def test_a_new_sftp_password_asks_first_then_is_mailed(member, emulator, mailoutbox):
    website = _live(member, mailoutbox)
    before = len(mailoutbox)

    question = member.get(f"{detail(website)}sftp-password/")
    assert question.status_code == 200 and Operation.objects.filter(kind="app.config_set").count() == 0
    assert "A new SFTP password for alice.blahaj.land?" in text(question)
    assert f'href="{detail(website)}"' in html(question)  # the way back, doing nothing
    response = member.post(f"{detail(website)}sftp-password/")
    run_lane()

    assert (response.status_code, response["Location"]) == (302, detail(website))
    assert "A new SFTP password is on its way" in text(member.get(detail(website)))
    [mail] = mailoutbox[before:]
    password = mail.body.split("is:\n\n", 1)[1].split("\n", 1)[0]
    assert emulator.state()["apps"][0]["settings"]["password_sha256"] == sha256(password)
    assert password not in html(member.get(detail(website)))


def test_reset_asks_first_then_goes_through_the_lane(member, emulator, mailoutbox):
    website = _live(member, mailoutbox)

    question = member.get(f"{detail(website)}reset/")
    assert "Reset alice.blahaj.land?" in text(question) and "cannot be undone" in text(question)
    assert not Operation.objects.filter(kind=Operation.Kind.WEBAPP_RESET).exists()
    response = member.post(f"{detail(website)}reset/")
    run_lane()

    assert (response.status_code, response["Location"]) == (302, detail(website))
    assert Operation.objects.get(kind=Operation.Kind.WEBAPP_RESET).status == Operation.Status.SUCCEEDED
    assert len(emulator.log("app install")) == 2


def test_actions_refused_by_the_service_are_named_on_the_page_never_a_500(member, mailoutbox):
    website = _request(member, name="alice")  # not live yet

    reset = member.post(f"{detail(website)}reset/")
    password = member.post(f"{detail(website)}sftp-password/")
    deploy = member.post(f"{detail(website)}deploy/")
    secret = member.post(f"{detail(website)}webhook-secret/")

    assert reset.status_code == password.status_code == 409
    assert "only to a site that is live" in text(reset) and 'data-code="website_not_live"' in html(reset)
    assert deploy.status_code == 409 and 'data-code="no_deploy"' in html(deploy)
    assert secret.status_code == 409 and 'data-code="no_deploy"' in html(secret)
    assert not Operation.objects.exists()


def test_actions_share_the_apis_limits(member, user, mailoutbox, settings):
    website = _live(member, mailoutbox)
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "website_action_site": "1/hour"},
    }

    first = member.post(f"{detail(website)}reset/")
    second = member.post(f"{detail(website)}sftp-password/")

    assert first.status_code == 302
    assert second.status_code == 429 and int(second["Retry-After"]) > 0
    assert "Too many tries: wait 60 minutes and try again." in text(second)
    assert not Operation.objects.filter(kind="app.config_set").exists()


def test_a_suspended_site_says_why_and_offers_no_reset_or_deploy(member, mailoutbox):
    website = _live(member, mailoutbox)
    services.website_suspend(website=website, reason="Phishing page reported.", actor=None)

    page = member.get(detail(website))
    refused = member.post(f"{detail(website)}reset/")

    assert "Staff suspended this site" in text(page) and "Phishing page reported." in text(page)
    assert f'href="{detail(website)}reset/"' not in html(page)
    assert refused.status_code == 409 and 'data-code="website_suspended"' in html(refused)
    assert "suspended" in text(member.get(LIST))


def test_deleting_asks_first_and_removes_the_site_through_the_lane(member, emulator, mailoutbox):
    website = _live(member, mailoutbox)

    question = member.get(f"{detail(website)}delete/")
    assert "Delete alice.blahaj.land?" in text(question)
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    response = member.post(f"{detail(website)}delete/")

    assert (response.status_code, response["Location"]) == (302, LIST)
    assert "alice.blahaj.land is being deleted." in text(member.get(LIST))
    run_lane()
    website.refresh_from_db()
    assert website.status == Website.Status.DELETED
    assert SITE not in emulator.state()["domains"]
    assert member.get(detail(website)).status_code == 404
    assert "You have no website yet." in text(member.get(LIST))


def test_a_site_not_confirmed_yet_is_deleted_at_once(member, mailoutbox):
    website = _request(member, name="alice")

    response = member.post(f"{detail(website)}delete/")

    assert (response.status_code, response["Location"]) == (302, LIST)
    assert "alice.blahaj.land is deleted." in text(member.get(LIST))
    website.refresh_from_db()
    assert website.status == Website.Status.DELETED
    assert not Operation.objects.exists()


# --- a git site's deploys ------------------------------------------------------------------------


def test_a_git_site_deploys_now_and_gets_a_webhook_secret(member, mailoutbox, emulator, sftp_server, repository):  # noqa: F811
    repository.publish({"index.html": "<h1>first</h1>"})
    website = _request(member, name="alice", kind="git", git_url=repository.url)
    pending = member.get(detail(website))
    assert "/hooks/websites/" in html(pending) and 'id="website-deploy-now"' not in html(pending)
    member.get(confirm_path(mailoutbox))
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_lane()  # live, then its first deploy
    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    root = sftp_server.web_root(website.app_id)
    assert (root / "index.html").read_text() == "<h1>first</h1>"

    repository.publish({"index.html": "<h1>second</h1>"})
    page = member.get(detail(website))
    deployed = member.post(f"{detail(website)}deploy/")

    assert 'id="website-deploy-now"' in html(page)
    assert (deployed.status_code, deployed["Location"]) == (302, detail(website))
    assert (root / "index.html").read_text() == "<h1>second</h1>"
    assert list(Deploy.objects.filter(website=website).values_list("reason", "result")) == [
        ("owner", "ok"),
        ("install", "ok"),
    ]
    after = member.get(detail(website))
    assert '<dd id="deploy-result">ok</dd>' in html(after) and "A deploy is on its way" in text(after)

    question = member.get(f"{detail(website)}webhook-secret/")
    shown = member.post(f"{detail(website)}webhook-secret/")
    assert "A new webhook secret for alice.blahaj.land?" in text(question)
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    url = re.search(r'<dd id="webhook-url">([^<]+)</dd>', html(shown))
    secret = re.search(r'<dd id="webhook-secret">([^<]+)</dd>', html(shown))
    assert url and secret
    public_id = url.group(1).rstrip("/").rsplit("/", 1)[1]
    delivered = webhook_deliver(
        website_id=website.pk, public_id=public_id, body=b"{}", headers={"X-Gitlab-Token": secret.group(1)}
    )
    assert delivered.reason == "push"
