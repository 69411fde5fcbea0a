"""The accounts in the admin, staff's panel: the users (each change, action and deletion through
the services: accounts', the logins' and mfa's for a lost second factor), the links sent, the
quarantined usernames, the tokens (read-only). The models are the accounts app's: their pages
stay under /admin/accounts/. (The login sessions: logins/admin.py; the second factor's devices:
mfa/admin.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.db.models.options import Options
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

import notifications
from accounts import selectors, services
from accounts.models import OneTimeToken, User, UsernameQuarantine
from blahaj.admin import ReadOnlyAdmin, action_form, action_form_page
from blahaj.errors import ApplicationError
from deletion import services as deletion
from logins import services as logins
from mfa import services as mfa_services
from tiers.models import Tier


class PasswordChangeForm(AdminPasswordChangeForm):
    """Staff-set passwords go through the service: tokens die and YunoHost is updated."""

    def save(self, commit: bool = True) -> User:
        services.user_set_password(user=self.user, password=self.cleaned_data["password1"])
        return self.user


class UserCreationForm(forms.ModelForm):
    """Staff create the account through `user_create_by_staff` (UserAdmin.save_model): it is
    provisioned at once and its owner chooses the password through a one-time link."""

    class Meta:
        model = User
        fields = ["username", "display_name", "email", "discord_username", "tier", "is_staff"]

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if self.errors:
            return data
        try:
            services.user_create_by_staff_check(**self.service_arguments())
        except ApplicationError as error:
            for name, problems in (error.fields or {}).items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, problem)
            if not error.fields:
                field = {"username_taken": "username", "email_taken": "email"}.get(error.code)
                self.add_error(field, error.message)
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "username": data["username"],
            "display_name": data["display_name"],
            "email": data["email"],
            "discord_username": data.get("discord_username") or "",
            "tier": data.get("tier"),
        }


class UserChangeForm(DjangoUserChangeForm):
    """Django's change form; taking the last active superuser's roles is an error on the form
    (user_set_roles would refuse it after the form, too late for a message)."""

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        demoted = not (data or {}).get("is_superuser", True) or not (data or {}).get("is_staff", True)
        if self.instance.pk and self.instance.is_superuser and demoted:
            try:
                services.superuser_keep(user=self.instance)
            except services.LastSuperuser as error:
                self.add_error("is_superuser", error.message)
        return data


DELETE_ACCOUNTS = gettext_lazy("Delete the selected accounts (their websites first, then YunoHost)")


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _last_superuser(user: User) -> bool:
    try:
        services.superuser_keep(user=user)
    except services.LastSuperuser:
        return True
    return False


def _deletion_sentence(usernames: list[str], *, gone: bool) -> str:
    names = ", ".join(usernames)
    if gone:
        return _("Deleted %(names)s: a YunoHost user, if any, is being removed; the username is reserved.") % {
            "names": names
        }
    return _(
        "The deletion of %(names)s is under way: shut out now; the websites are being removed, then "
        "the YunoHost user; the account disappears from this list when that is done."
    ) % {"names": names}


class ChangeTierForm(forms.Form):
    tier = forms.ModelChoiceField(queryset=Tier.objects.order_by("name"), empty_label=None, label=gettext_lazy("Tier"))


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    change_password_form = PasswordChangeForm
    add_form = UserCreationForm
    form = UserChangeForm
    list_display = [
        "username",
        "display_name",
        "email",
        "tier",
        "status",
        "deletes_at",
        "is_staff",
        "date_joined",
        "note",
    ]
    # "Deletion scheduled for: Has date" lists the accounts whose owner asked to delete them.
    list_filter = [
        "status",
        ("deletes_at", admin.EmptyFieldListFilter),
        "tier",
        "is_staff",
        "email_domain_unverified",
        # "Email undeliverable since: Has date": the addresses that bounced or complained.
        ("email_undeliverable_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["username", "display_name", "email", "discord_username"]
    ordering = ["-date_joined"]
    readonly_fields = [
        "date_joined",
        "last_login",
        "confirmed_at",
        "tokens_valid_after",
        "referred_by",
        "signup_note",
        "terms_accepted_at",
        "terms_version",
        "deletion_requested_at",
        "deletes_at",
        "email_undeliverable_at",
        "email_undeliverable_reason",
    ]
    list_select_related = ["tier"]
    # The total under the search box is one more COUNT of every account on each page.
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (gettext_lazy("Profile"), {"fields": ["display_name", "email", "discord_username", "tier", "referred_by"]}),
        (gettext_lazy("Email delivery"), {"fields": ["email_undeliverable_at", "email_undeliverable_reason"]}),
        (
            gettext_lazy("State"),
            {"fields": ["status", "confirmed_at", "tokens_valid_after", "date_joined", "last_login"]},
        ),
        (gettext_lazy("Deletion"), {"fields": ["deletion_requested_at", "deletes_at"]}),
        (gettext_lazy("Sign-up"), {"fields": ["signup_note", "terms_accepted_at", "terms_version"]}),
        (gettext_lazy("Permissions"), {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "display_name", "email", "discord_username", "tier", "is_staff"]}),
    ]
    actions = [
        "approve_accounts",
        "reject_accounts",
        "resend_confirmation",
        "send_reset_link",
        "change_tier",
        "revoke_tokens",
        "remove_second_factor",
        "disable_accounts",
        "enable_accounts",
        "cancel_deletions",
        "send_test_notification",
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        # The same search as the staff API: one generated, lower-cased column (see the model).
        return selectors.users_matching(queryset, search_term), False

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str] | tuple[str, ...]:
        # A state change is an action (it goes through a service); the username names the
        # account's YunoHost user and mail address, which cannot be renamed.
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "username", "status"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not isinstance(request.user, User):  # the admin lets signed-in staff in only
            raise PermissionDenied
        if not change:
            actor = request.user if isinstance(request.user, User) else None  # staff: always a User
            created = services.user_create_by_staff(**form.service_arguments(), actor=actor)
            if form.cleaned_data.get("is_staff"):
                services.user_set_roles(user=created, is_staff=True, is_superuser=False)
            obj.pk, obj.tier_id, obj.status = created.pk, created.tier_id, created.status
            self.message_user(
                request,
                _("%(username)s is being set up on YunoHost; a link to choose a password was mailed to %(email)s.")
                % {"username": created.username, "email": created.email},
                messages.SUCCESS,
            )
            return
        # The form has already written its values onto `obj`: each service gets the row as it
        # is in the database, so that it sees what changes (and validates, and tells YunoHost).
        current = User.objects.select_related("tier").get(pk=obj.pk)
        changed = set(form.changed_data)
        data = form.cleaned_data
        profile = {name: data[name] for name in ("display_name", "email", "discord_username") if name in changed}
        if profile:
            services.user_update(user=current, **profile)
        if "tier" in changed and data["tier"] is not None:
            services.user_set_tier(user=current, tier=data["tier"])
        if changed & {"is_staff", "is_superuser"}:
            services.user_set_roles(
                user=current,
                is_staff=data.get("is_staff", current.is_staff),
                is_superuser=data.get("is_superuser", current.is_superuser),
            )

    @admin.display(description=gettext_lazy("Note to the admins"))
    def note(self, obj: User) -> str:
        # Plain text: the admin escapes it; cut so that the list stays a list.
        return obj.signup_note if len(obj.signup_note) <= 80 else obj.signup_note[:79] + "…"

    @admin.display(description=gettext_lazy("Referred by"))
    def referred_by(self, obj: User) -> str:
        code = obj.referral_code
        if code is None:
            return "-"
        if code.owner_id:
            return _("%(code)s (owned by %(owner)s)") % {"code": code.code, "owner": code.owner}
        return _("%(code)s (a staff code)") % {"code": code.code}

    # Deleting: the erasure a member's own deletion goes through (deletion/services.py). The
    # account is shut out at once; its websites are removed through the lane, then its YunoHost
    # user; the row disappears when that is done (at once when it has no website).

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Not one's own account, not the last active superuser (the services refuse both; here
        # the page offers no button that would only be refused).
        if obj is not None and (obj.pk == request.user.pk or _last_superuser(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        deletion.user_delete_by_staff(user=obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            deletion.user_delete_by_staff(user=user, actor=_actor(request))

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        # What hangs on an account (login sessions, links, websites: read-only or service-made
        # rows) goes with it through the erasure: the right to delete accounts is what it takes.
        deleted, counts, _permissions, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: int) -> HttpResponse:
        if IS_POPUP_VAR in request.POST:
            return super().response_delete(request, obj_display, obj_id)
        self.message_user(request, _deletion_sentence([obj_display], gone=not User.objects.filter(pk=obj_id).exists()))
        url = reverse("admin:accounts_user_changelist", current_app=self.admin_site.name)
        preserved: dict[str, Options[Any] | str] = {
            "preserved_filters": self.get_preserved_filters(request),
            "opts": self.opts,
        }
        return HttpResponseRedirect(add_preserved_filters(preserved, url))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = dict(super().get_actions(request))
        if "delete_selected" in actions:  # the same name: Django's confirmation page posts it back
            actions["delete_selected"] = (UserAdmin.delete_accounts, "delete_selected", DELETE_ACCOUNTS)
        return actions

    @admin.action(description=DELETE_ACCOUNTS, permissions=["delete"])
    def delete_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        if not request.POST.get("post"):
            return delete_selected(self, request, queryset)  # Django's confirmation page
        gone: list[str] = []
        under_way: list[str] = []
        for user in queryset.order_by("username"):
            try:
                outcome = deletion.user_delete_by_staff(user=user, actor=_actor(request))
            except ApplicationError as error:
                self.message_user(request, f"{user.username}: {error.message}", messages.WARNING)
            else:
                (gone if outcome == "deleted" else under_way).append(user.username)
        if gone:
            self.message_user(request, _deletion_sentence(gone, gone=True))
        if under_way:
            self.message_user(request, _deletion_sentence(under_way, gone=False))
        return None

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/logout-everywhere/",
                self.admin_site.admin_view(self.logout_everywhere_view),
                name="accounts_user_logout_everywhere",
            ),
            *super().get_urls(),
        ]

    def logout_everywhere_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Log out everywhere" button (a POST): every token and session of
        the account dies at once."""
        user = self.get_object(request, object_id)
        if user is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, user):
            raise PermissionDenied
        logins.user_revoke_all_tokens(user=user)
        self.message_user(
            request,
            _("%(username)s is logged out everywhere: every token and session ended.") % {"username": user.username},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[User],
        service: Callable[[User], object],
        done: str,
        **values: object,
    ) -> None:
        """Run `service` on each account: one success message with the count (`done`, a sentence
        with `%(count)s` and `values`' names), one warning per account it refused (the service's
        own sentence), never a 500."""
        succeeded = 0
        for user in queryset.order_by("username"):
            try:
                service(user)
            except ApplicationError as error:
                self.message_user(request, f"{user.username}: {error.message}", messages.WARNING)
            else:
                succeeded += 1
        level = messages.SUCCESS if succeeded else messages.WARNING
        self.message_user(request, done % {"count": succeeded, **values}, level)

    @admin.action(description=gettext_lazy("Approve the selected accounts (provisioning starts)"))
    def approve_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(
            request, queryset, lambda user: services.user_approve(user=user), _("Approved %(count)s account(s).")
        )

    @admin.action(
        description=gettext_lazy("Reject the selected sign-ups (the applicant is told; the account is deleted)")
    )
    def reject_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, lambda user: services.user_reject(user=user), _("Rejected %(count)s account(s)."))

    @admin.action(description=gettext_lazy("Resend the email confirmation link"))
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        def resend(user: User) -> None:
            if user.status != User.Status.PENDING_CONFIRMATION:
                raise ApplicationError(_("Only an account waiting for its email confirmation gets a new link."))
            services.user_request_confirmation(email=user.email)

        self._each(request, queryset, resend, _("Sent a confirmation link to %(count)s account(s)."))

    @admin.action(description=gettext_lazy("Mail a password reset link"))
    def send_reset_link(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(
            request,
            queryset,
            lambda user: services.user_send_password_reset(user=user),
            _("Sent a reset link to %(count)s account(s)."),
        )

    @admin.action(description=gettext_lazy("Change the tier (the mailbox quota goes to YunoHost)"))
    def change_tier(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        form = action_form(ChangeTierForm, request)
        if form.is_valid():
            tier = form.cleaned_data["tier"]
            self._each(
                request,
                queryset,
                lambda user: services.user_set_tier(user=user, tier=tier),
                _("Moved to %(tier)s: %(count)s account(s)."),
                tier=tier.name,
            )
            return None
        return action_form_page(
            self,
            request,
            template="admin/accounts/user/change_tier.html",
            action="change_tier",
            title=_("Change the tier"),
            submit=_("Move them"),
            form=form,
            items=(
                (user.pk, f"{user.username} ({user.tier.name})")
                for user in queryset.select_related("tier").order_by("username")
            ),
        )

    @admin.action(description=gettext_lazy("Log out everywhere (revoke every token)"))
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(
            request,
            queryset,
            lambda user: logins.user_revoke_all_tokens(user=user),
            _("Revoked the tokens of %(count)s account(s)."),
        )

    @admin.action(
        description=gettext_lazy("Remove the second factor (a lost authenticator; staff set a new one up at login)")
    )
    def remove_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(
            request,
            queryset,
            lambda user: mfa_services.second_factor_remove_by_staff(user=user),
            _("Removed the second factor of %(count)s account(s)."),
        )

    @admin.action(description=gettext_lazy("Disable the selected accounts (YunoHost logins stop too)"))
    def disable_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        def disable(user: User) -> None:
            if user.status == User.Status.DISABLED:
                raise ApplicationError(_("This account is already disabled."))
            services.user_disable(user=user)

        self._each(request, queryset, disable, _("Disabled %(count)s account(s)."))

    @admin.action(description=gettext_lazy("Enable the selected disabled accounts (the owner gets a reset link)"))
    def enable_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        def enable(user: User) -> None:
            if user.status != User.Status.DISABLED:
                raise ApplicationError(_("Only a disabled account can be enabled."))
            services.user_enable(user=user)

        self._each(request, queryset, enable, _("Enabled %(count)s account(s)."))

    @admin.action(description=gettext_lazy("Cancel the owner's pending deletion (the owner is told)"))
    def cancel_deletions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        self._each(
            request,
            queryset,
            lambda user: deletion.user_cancel_deletion_by_staff(user=user, actor=actor),
            _("Cancelled the deletion of %(count)s account(s)."),
        )

    @admin.action(description=gettext_lazy("Send a test notification to staff on Discord (any selection)"))
    def send_test_notification(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        if notifications.staff_test(requested_by=request.user.username):
            self.message_user(request, _("A test notification is on its way to Discord."), messages.SUCCESS)
        else:
            self.message_user(request, _("DISCORD_WEBHOOK_URL is not set: nothing was sent."), messages.WARNING)


@admin.register(OneTimeToken)
class OneTimeTokenAdmin(ReadOnlyAdmin):
    """Confirmation and reset links sent: who, what for, when. The digest is never shown (it
    is not the link, but nothing about a link belongs on a page)."""

    list_display = ["user", "purpose", "created_at", "expires_at", "used_at"]
    list_filter = ["purpose", ("used_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "purpose", "created_at", "expires_at", "used_at"]
    ordering = ["-created_at"]


@admin.register(UsernameQuarantine)
class UsernameQuarantineAdmin(admin.ModelAdmin):
    """Deleted accounts' usernames nobody may take yet. Read-only; staff may release one early
    (delete the row), e.g. for the same person coming back."""

    list_display = ["username", "reserved_until", "created_at"]
    search_fields = ["username"]
    fields = ["username", "reserved_until", "created_at"]
    readonly_fields = ["username", "reserved_until", "created_at"]
    ordering = ["username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# SimpleJWT's own admin shows each refresh token in full (a working credential) and lets staff
# edit rows: replaced by read-only lists without it. Revoking goes through the user actions.
# (The second factor's devices: mfa/admin.py.)
for _model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(ReadOnlyAdmin):
    list_display = ["jti", "user", "created_at", "expires_at"]
    list_filter = [("expires_at", admin.DateFieldListFilter)]
    search_fields = ["user__username", "jti"]
    list_select_related = ["user"]
    fields = ["jti", "user", "created_at", "expires_at"]
    ordering = ["-id"]


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(ReadOnlyAdmin):
    list_display = ["token_jti", "token_user", "blacklisted_at"]
    list_filter = [("blacklisted_at", admin.DateFieldListFilter)]
    search_fields = ["token__user__username", "token__jti"]
    list_select_related = ["token__user"]
    fields = ["token_jti", "token_user", "blacklisted_at"]
    ordering = ["-id"]

    @admin.display(description=gettext_lazy("Token id (jti)"))
    def token_jti(self, obj: BlacklistedToken) -> str:
        return obj.token.jti

    @admin.display(description=gettext_lazy("User"))
    def token_user(self, obj: BlacklistedToken) -> object:
        return obj.token.user
