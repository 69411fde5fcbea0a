"""The progress page of a website (`/website_being_made`, `/websites/<id>/`) and its JSON.

The page opens with the signed key its links carry (no login: it shows nothing secret), or
for its owner or staff signed in to the site. It refreshes itself without JavaScript; with
JavaScript, websites/static/websites/progress.js polls the JSON and redraws the steps.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import emails, selectors
from .models import Website

REFRESH_SECONDS = 3


def _allowed(request: HttpRequest, website_id: int) -> Website | None:
    website = selectors.website_from_key(request.GET.get("key", ""))
    if website is not None and website.pk == website_id:
        return website
    user = request.user
    if user.is_authenticated:
        return selectors.websites_visible(user=user).filter(pk=website_id).first()
    return None


def _page(request: HttpRequest, website: Website | None, *, already: bool = False) -> HttpResponse:
    if website is None:
        return render(request, "websites/progress_unknown.html", status=404)
    progress = selectors.website_progress(website)
    key = emails.progress_key(website)
    context = {
        "website": website,
        "progress": progress,
        "already": already,
        "key": key,
        "refresh": REFRESH_SECONDS,
        "failure": website.status == Website.Status.FAILED,
    }
    return render(request, "websites/progress.html", context)


@require_GET
def website_being_made(request: HttpRequest) -> HttpResponse:
    """Where the confirmation link lands: `?site=<key>` names the site."""
    site = request.GET.get("site", "")
    if not site:
        return render(request, "websites/progress_unknown.html")
    return _page(request, selectors.website_from_key(site), already=request.GET.get("already") == "1")


@require_GET
def website_detail(request: HttpRequest, website_id: int) -> HttpResponse:
    return _page(request, _allowed(request, website_id))


@require_GET
def website_progress(request: HttpRequest, website_id: int) -> JsonResponse:
    website = _allowed(request, website_id)
    if website is None:
        return JsonResponse({"error": _("Website not found."), "code": "website_not_found"}, status=404)
    return JsonResponse(selectors.website_progress(website))
