"""Test factories (factory_boy): a valid row of each model with the least typing.

    UserFactory(username="dora", status=User.Status.PROVISIONING)
    TierFactory(slug="gold", max_websites=5)
    ReferralCodeFactory(code="SHARKS", tier=gold, max_uses=2)
    OperationFactory(kind="user.delete", status="failed")

A user is created through `User.objects.create_user` (so its password is hashed) on the default
tier ("starter"), active unless told otherwise, with the test suite's PASSWORD.
"""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from provisioning.models import Operation
from tiers.models import ReferralCode, Tier

PASSWORD = "correct-horse-battery-staple-42"


class TierFactory(DjangoModelFactory[Tier]):
    class Meta:
        model = Tier
        django_get_or_create = ("slug",)

    # Declarations here, plain values in DefaultTierFactory: typed for both.
    slug: Any = factory.Sequence(lambda n: f"tier{n}")
    name: Any = factory.LazyAttribute(lambda tier: tier.slug.capitalize())
    max_websites = 1
    mailbox_quota = "500M"


class DefaultTierFactory(TierFactory):
    """The starter tier the data migration creates (transactional tests flush it: back it comes)."""

    slug = "starter"
    name = "Starter"
    is_default = True


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda user: user.username.capitalize())
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    status = User.Status.ACTIVE
    # A member made active by the lane has a YunoHost user (staff and programs are made otherwise).
    on_yunohost = factory.LazyAttribute(lambda user: user.status == User.Status.ACTIVE and not user.is_staff)
    is_staff = False
    tier = factory.SubFactory(DefaultTierFactory)
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **fields: Any) -> User:
        username, email, password = fields.pop("username"), fields.pop("email"), fields.pop("password")
        return model_class.objects.create_user(username, email, password, **fields)


class ReferralCodeFactory(DjangoModelFactory[ReferralCode]):
    class Meta:
        model = ReferralCode

    code = factory.Sequence(lambda n: f"CODE{n}")
    tier = None


class OperationFactory(DjangoModelFactory[Operation]):
    """An operation row as the lane would have written it (not queued: nothing runs it)."""

    class Meta:
        model = Operation

    kind = Operation.Kind.USER_CREATE
    subject = factory.LazyAttribute(lambda op: f"user:{op.args.get('username', 'alice')}")
    sequence = factory.Sequence(lambda n: n + 1)
    args = factory.Dict({"username": "alice"})
