"""A member's websites on their pages (docs/api.md §4): `/account/websites/` (the list and what
the tier allows), `/account/websites/new/` (the request form) and `/account/websites/<id>/` (its
progress, its DNS record, its SFTP access, its deploys and its actions).

Signed in only (else `LOGIN_URL` with `?next=`); a site that is not the member's own is a 404, as
in the API. Each action calls the service the API calls, under the same rate limits on the same
cache keys (a page and an API call share one budget). Plain forms, no JavaScript needed: a
success redirects to the site's page with a notice (POST-redirect-GET); a refusal shows the
site's page again, with the service's sentence and status. Actions that cannot be undone (a new
SFTP password, a reset, a deletion, a new webhook secret) ask first: a GET shows what happens and
a button, the POST acts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from blahaj.errors import ApplicationError, TooManyAttempts
from blahaj.throttling import ScopedIPThrottle, ScopedMemberThrottle, ScopedObjectThrottle, ScopedThrottle

from . import content, emails, selectors, services
from .forms import WebsiteRequestForm
from .models import Website

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_stubs_ext import StrOrPromise

Status = Website.Status
# States in which the page's progress moves by itself (the lane or a worker is at it).
MOVING = (Status.PROVISIONING, Status.DELETING)


def _member(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required let only a signed-in account through
        raise Http404
    return user


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "websites/member/not_found.html", status=404)


def _own(request: HttpRequest, website_id: int) -> Website | None:
    return selectors.websites_owned(user=_member(request)).filter(pk=website_id).first()


def _throttled(request: HttpRequest, throttles: list[ScopedThrottle]) -> TooManyAttempts | None:
    """The API's limits for this action (every one counts the request, as DRF's do)."""
    waits = [
        throttle.wait()
        for throttle in throttles
        if not throttle.allow_request(request, None)  # type: ignore[arg-type]  # reads the user and the address only
    ]
    if not waits:
        return None
    retry_after = max(1, math.ceil(max((wait or 60) for wait in waits)))
    minutes = math.ceil(retry_after / 60)
    message = ngettext(
        "Too many tries: wait %(minutes)s minute and try again.",
        "Too many tries: wait %(minutes)s minutes and try again.",
        minutes,
    ) % {"minutes": minutes}
    return TooManyAttempts(retry_after=retry_after, message=message)


def _verify_throttles(website: Website) -> list[ScopedThrottle]:
    return [
        ScopedIPThrottle("lookup"),
        ScopedMemberThrottle("verify_domain"),
        ScopedObjectThrottle("verify_domain_site", target=website),
    ]


def _action_throttles(website: Website) -> list[ScopedThrottle]:
    return [ScopedMemberThrottle("website_action"), ScopedObjectThrottle("website_action_site", target=website)]


# --- The list and the request form ---------------------------------------------------------------


@require_GET
@login_required
def website_list(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    context = {
        "websites": selectors.websites_owned(user=member).order_by("domain"),
        "allowance": selectors.website_allowance(user=member),
    }
    return render(request, "websites/member/list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def website_new(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    allowance = selectors.website_allowance(user=member)
    form = WebsiteRequestForm(
        request.POST if request.method == "POST" else None, custom_domains=allowance["custom_domains"]
    )
    status = None
    if form.is_valid():
        try:
            website = services.website_request(owner=member, **form.request_arguments())
        except ApplicationError as error:
            form.show(error)
            status = error.status_code
            allowance = selectors.website_allowance(user=member)  # the limit may have been reached meanwhile
        else:
            messages.success(
                request,
                _(
                    "We emailed you a link to confirm %(domain)s: open it to start setting up the site, "
                    "then follow its progress here."
                )
                % {"domain": website.domain},
            )
            return redirect("websites-member:detail", website_id=website.pk)
    form.focus_first_error()
    context = {"form": form, "allowance": allowance}
    return render(request, "websites/member/new.html", context, status=status or (400 if form.errors else 200))


# --- A site's page -------------------------------------------------------------------------------


def _detail(request: HttpRequest, website: Website, *, error: ApplicationError | None = None) -> HttpResponse:
    progress = selectors.website_progress(website)
    published = content.publisher().published(website=website)
    moving = website.status in MOVING or (
        published and content.publisher().step_state(website=website) in ("pending", "running")
    )
    context = {
        "website": website,
        "progress": progress,
        "key": emails.progress_key(website),
        "moving": moving,
        "live": website.status == Status.LIVE,
        "published": published,
        "webhook_url": content.publisher().webhook_url(website=website) if published else None,
        "needs_verification": website.is_custom_domain
        and website.verified_at is None
        and website.status not in (Status.DELETING, Status.DELETED),
        "deletable": website.status not in (Status.DELETING, Status.DELETED),
        "confirm_hours": max(1, settings.WEBSITES_CONFIRM_TOKEN_LIFETIME // 3600),
        "error": error,
    }
    response = render(request, "websites/member/detail.html", context, status=error.status_code if error else 200)
    if isinstance(error, TooManyAttempts):
        response["Retry-After"] = str(error.retry_after)
    return response


@require_GET
@login_required
def website_detail(request: HttpRequest, website_id: int) -> HttpResponse:
    website = _own(request, website_id)
    return _detail(request, website) if website is not None else _not_found(request)


@require_POST
@login_required
def website_check(request: HttpRequest, website_id: int) -> HttpResponse:
    """The "Check now" button: the custom domain's TXT record, looked up in this request (as
    verify-domain)."""
    website = _own(request, website_id)
    if website is None:
        return _not_found(request)
    if limited := _throttled(request, _verify_throttles(website)):
        return _detail(request, website, error=limited)
    try:
        found = services.website_verify_domain(website=website)
    except ApplicationError as error:
        return _detail(request, website, error=error)
    if not found:
        missing = ApplicationError(
            _(
                "We did not find the TXT record %(record)s with your site's value yet. "
                "A new record can take a few minutes to reach DNS: check again a little later."
            )
            % {"record": website.verification_record},
            code="domain_not_verified",
            status_code=409,
        )
        return _detail(request, website, error=missing)
    if website.status == Status.PENDING_CONFIRMATION:
        messages.success(
            request,
            _("%(domain)s is verified: open the link we emailed to set up your site.") % {"domain": website.domain},
        )
    else:
        messages.success(
            request, _("%(domain)s is verified: we are setting up your site.") % {"domain": website.domain}
        )
    return redirect("websites-member:detail", website_id=website.pk)


@require_POST
@login_required
def website_deploy(request: HttpRequest, website_id: int) -> HttpResponse:
    website = _own(request, website_id)
    if website is None:
        return _not_found(request)
    try:
        content.publisher().deploy_for_owner(website=website)
    except ApplicationError as error:
        return _detail(request, website, error=error)
    messages.success(request, _("A deploy is on its way: we clone your repository, build and publish it."))
    return redirect("websites-member:detail", website_id=website.pk)


# --- Actions with a confirmation step ------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    title: StrOrPromise
    explanation: StrOrPromise
    button: StrOrPromise
    done: StrOrPromise


ACTIONS = {
    "sftp-password": Action(
        title=gettext_lazy("A new SFTP password for %(domain)s?"),
        explanation=gettext_lazy(
            "We set a new password on your site's SFTP login and email it to you. "
            "The current password stops working once the new one is set."
        ),
        button=gettext_lazy("Yes, set a new SFTP password"),
        done=gettext_lazy("A new SFTP password is on its way: we email it to you once it is set."),
    ),
    "reset": Action(
        title=gettext_lazy("Reset %(domain)s?"),
        explanation=gettext_lazy(
            "Every file of your site is wiped and the site goes back to how it started. "
            "This cannot be undone: keep a copy of anything you need first."
        ),
        button=gettext_lazy("Yes, reset my site"),
        done=gettext_lazy("Your site is being reset: its files go back to how it started."),
    ),
    "delete": Action(
        title=gettext_lazy("Delete %(domain)s?"),
        explanation=gettext_lazy(
            "Your site and its files are removed from the server and its address is free again. This cannot be undone."
        ),
        button=gettext_lazy("Yes, delete my site"),
        done=gettext_lazy("%(domain)s is being deleted."),
    ),
    "webhook-secret": Action(
        title=gettext_lazy("A new webhook secret for %(domain)s?"),
        explanation=gettext_lazy(
            "We make a new secret for your repository's push webhook and show it once, on the next page. "
            "The current secret stops working: give the new one to your forge's webhook."
        ),
        button=gettext_lazy("Yes, make a new secret"),
        done="",
    ),
}


def _confirm(request: HttpRequest, website: Website, name: str) -> HttpResponse:
    action = ACTIONS[name]
    context = {
        "website": website,
        "name": name,
        "title": action.title % {"domain": website.domain},
        "explanation": action.explanation,
        "button": action.button,
    }
    return render(request, "websites/member/confirm.html", context)


def _done(request: HttpRequest, website: Website, name: str) -> HttpResponse:
    messages.success(request, ACTIONS[name].done % {"domain": website.domain})
    return redirect("websites-member:detail", website_id=website.pk)


def _act(request: HttpRequest, website_id: int, name: str, act: Callable[..., object]) -> HttpResponse:
    """An action that asks first (GET: the confirmation page), then, on POST and within the
    action limits, calls `act(website=...)` and says it is done on the site's page."""
    website = _own(request, website_id)
    if website is None:
        return _not_found(request)
    if request.method == "GET":
        return _confirm(request, website, name)
    if limited := _throttled(request, _action_throttles(website)):
        return _detail(request, website, error=limited)
    try:
        act(website=website)
    except ApplicationError as error:
        return _detail(request, website, error=error)
    return _done(request, website, name)


@require_http_methods(["GET", "POST"])
@login_required
def website_sftp_password(request: HttpRequest, website_id: int) -> HttpResponse:
    return _act(request, website_id, "sftp-password", services.website_sftp_password_rotate)


@require_http_methods(["GET", "POST"])
@login_required
def website_reset(request: HttpRequest, website_id: int) -> HttpResponse:
    return _act(request, website_id, "reset", services.website_reset)


@require_http_methods(["GET", "POST"])
@login_required
def website_delete(request: HttpRequest, website_id: int) -> HttpResponse:
    website = _own(request, website_id)
    if website is None:
        return _not_found(request)
    if request.method == "GET":
        return _confirm(request, website, "delete")
    try:
        deleted = services.website_delete(website=website)
    except ApplicationError as error:
        return _detail(request, website, error=error)
    # Gone at once when nothing was on the server yet; else the list shows it being deleted.
    gone = deleted.status == Status.DELETED
    messages.success(
        request,
        _("%(domain)s is deleted.") % {"domain": website.domain}
        if gone
        else ACTIONS["delete"].done % {"domain": website.domain},
    )
    return redirect("websites-member:list")


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def website_webhook_secret(request: HttpRequest, website_id: int) -> HttpResponse:
    """The new secret is shown in this answer only (never stored in the clear, never redirected
    through a notice): the page is not cached."""
    website = _own(request, website_id)
    if website is None:
        return _not_found(request)
    if request.method == "GET":
        return _confirm(request, website, "webhook-secret")
    try:
        url, secret = content.publisher().webhook_secret_rotate(website=website)
    except ApplicationError as error:
        return _detail(request, website, error=error)
    return render(request, "websites/member/webhook_secret.html", {"website": website, "url": url, "secret": secret})
