"""What staff are told on Discord (docs/architecture.md, "Data flow"). The whole API a service
needs:

    import notifications

    notifications.account_created(username="alice", mail_address="alice@blahaj.land")

One function per event (events.py), each with its own template; the message is posted by an
outbox task after the caller's transaction commits, through the webhook that pings the admin
role (discord.py). Above the plumbing (it queues through blahaj.outbox), below the lane and
every app that has something to tell staff.
"""

from .events import (
    MAX_VALUE,
    TEMPLATES,
    Event,
    abuse_reported,
    account_created,
    domain_unverified,
    invitation_used,
    lane_stuck,
    neutralise,
    operation_failed,
    provisioning_failed,
    signup_waiting,
    ssg_setup_needed,
    staff_test,
    website_failed,
    website_live,
    website_not_published,
    website_requested,
)

__all__ = [
    "MAX_VALUE",
    "TEMPLATES",
    "Event",
    "abuse_reported",
    "account_created",
    "domain_unverified",
    "invitation_used",
    "lane_stuck",
    "neutralise",
    "operation_failed",
    "provisioning_failed",
    "signup_waiting",
    "ssg_setup_needed",
    "staff_test",
    "website_failed",
    "website_live",
    "website_not_published",
    "website_requested",
]
