from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from blahaj import notifications
from blahaj.errors import ApplicationError

from . import services
from .admin_invitations import InvitationAdmin  # noqa: F401 - registered there
from .admin_site import SiteSettingsAdmin  # noqa: F401 - registered there
from .models import User


class PasswordChangeForm(AdminPasswordChangeForm):
    """Staff-set passwords go through the service: tokens die and YunoHost is updated."""

    def save(self, commit: bool = True) -> User:
        services.user_set_password(user=self.user, password=self.cleaned_data["password1"])
        return self.user


class UserCreationForm(forms.ModelForm):
    """Staff create the account; its owner chooses the password through a reset link."""

    class Meta:
        model = User
        fields = ["username", "display_name", "email", "discord_username", "tier", "is_staff"]

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.tier_id = user.tier_id or User.objects.default_tier_id()
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    change_password_form = PasswordChangeForm
    add_form = UserCreationForm
    list_display = ["username", "display_name", "email", "tier", "status", "is_staff", "date_joined", "note"]
    list_filter = ["status", "tier", "is_staff"]
    search_fields = ["username", "display_name", "email", "discord_username"]
    ordering = ["-date_joined"]
    readonly_fields = [
        "date_joined", "last_login", "confirmed_at", "tokens_valid_after", "referred_by",
        "signup_note", "terms_accepted_at", "terms_version",
    ]
    list_select_related = ["tier"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["display_name", "email", "discord_username", "tier", "referred_by"]}),
        ("State", {"fields": ["status", "confirmed_at", "tokens_valid_after", "date_joined", "last_login"]}),
        ("Sign-up", {"fields": ["signup_note", "terms_accepted_at", "terms_version"]}),
        ("Permissions", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "display_name", "email", "discord_username", "tier", "is_staff"]}),
    ]
    actions = ["revoke_tokens", "disable_accounts", "approve_accounts", "send_test_notification"]

    def get_readonly_fields(self, request, obj: User | None = None) -> list[str]:
        # A state change is an action (it goes through a service); the username names the
        # account's YunoHost user and mail address, which cannot be renamed.
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "username", "status"]

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
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
                user=current, is_staff=data.get("is_staff", current.is_staff),
                is_superuser=data.get("is_superuser", current.is_superuser),
            )

    @admin.display(description="Note to the admins")
    def note(self, obj: User) -> str:
        # Plain text: the admin escapes it; cut so that the list stays a list.
        return obj.signup_note if len(obj.signup_note) <= 80 else obj.signup_note[:79] + "…"

    @admin.display(description="Referred by")
    def referred_by(self, obj: User) -> str:
        code = obj.referral_code
        if code is None:
            return "-"
        return f"{code.code} (owned by {code.owner})" if code.owner_id else f"{code.code} (a staff code)"

    def delete_model(self, request, obj: User) -> None:
        services.user_delete(user=obj)

    def delete_queryset(self, request, queryset) -> None:
        # The bulk "delete selected" action too: each account's YunoHost user goes with it.
        for user in queryset:
            services.user_delete(user=user)

    @admin.action(description="Log out everywhere (revoke every token)")
    def revoke_tokens(self, request, queryset) -> None:
        for user in queryset:
            services.user_revoke_all_tokens(user=user)
        self.message_user(request, f"Revoked the tokens of {queryset.count()} account(s).", messages.SUCCESS)

    @admin.action(description="Disable the selected accounts")
    def disable_accounts(self, request, queryset) -> None:
        for user in queryset:
            services.user_disable(user=user)
        self.message_user(request, f"Disabled {queryset.count()} account(s).", messages.SUCCESS)

    @admin.action(description="Approve the selected accounts (provisioning starts)")
    def approve_accounts(self, request, queryset) -> None:
        approved = 0
        for user in queryset:
            try:
                services.user_approve(user=user)
                approved += 1
            except ApplicationError as error:
                self.message_user(request, f"{user.username}: {error.message}", messages.WARNING)
        self.message_user(request, f"Approved {approved} account(s).", messages.SUCCESS)

    @admin.action(description="Send a test notification to staff on Discord (any selection)")
    def send_test_notification(self, request, queryset) -> None:
        if notifications.staff_test(requested_by=request.user.username):
            self.message_user(request, "A test notification is on its way to Discord.", messages.SUCCESS)
        else:
            self.message_user(request, "DISCORD_WEBHOOK_URL is not set: nothing was sent.", messages.WARNING)
