from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from blahaj import notifications

from . import services
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
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    change_password_form = PasswordChangeForm
    add_form = UserCreationForm
    list_display = ["username", "display_name", "email", "tier", "status", "is_staff", "date_joined"]
    list_filter = ["status", "tier", "is_staff"]
    search_fields = ["username", "display_name", "email", "discord_username"]
    ordering = ["-date_joined"]
    readonly_fields = ["date_joined", "last_login", "confirmed_at", "tokens_valid_after"]
    list_select_related = ["tier"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["display_name", "email", "discord_username", "tier"]}),
        ("State", {"fields": ["status", "confirmed_at", "tokens_valid_after", "date_joined", "last_login"]}),
        ("Permissions", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "display_name", "email", "discord_username", "tier", "is_staff"]}),
    ]
    actions = ["revoke_tokens", "disable_accounts", "send_test_notification"]

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

    @admin.action(description="Send a test notification to staff on Discord (any selection)")
    def send_test_notification(self, request, queryset) -> None:
        if notifications.staff_test(requested_by=request.user.username):
            self.message_user(request, "A test notification is on its way to Discord.", messages.SUCCESS)
        else:
            self.message_user(request, "DISCORD_WEBHOOK_URL is not set: nothing was sent.", messages.WARNING)
