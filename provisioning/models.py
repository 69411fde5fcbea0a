"""The durable operation log: one row per YunoHost command, before anything runs it.

A row is the job itself (CONTRIBUTING.md): the runner claims it with a conditional UPDATE, so a
task delivered twice, or re-enqueued by the sweeper, runs the command at most once per claim.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SERVER_NAME = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,31}\Z", _("Lower-case letters, digits and dashes (32 at most)."))


class Server(models.Model):
    """A YunoHost server the service drives: one lane each (its lock, its queue, its sweep).

    Members are placed on one when their account is created (fleet/services.py) and stay
    there; their websites go to it. The first server is made from the YUNOHOST_* settings by the
    migration (`uses_settings`): its empty fields keep following them, so a single-server
    deployment changes nothing. Secrets are stored encrypted (`api_password`, blahaj/crypto.py)
    and never shown.
    """

    class Backend(models.TextChoices):
        CLI = "cli", _("CLI (the yunohost command)")
        API = "api", _("HTTP API (yunohost-api)")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        DRAINING = "draining", _("Draining: no new members")
        DOWN = "down", _("Down: no new members, left out of /readyz")

    name = models.CharField(max_length=32, unique=True, validators=[SERVER_NAME])
    main_domain = models.CharField(max_length=253, blank=True, help_text=_("Members' mail domain on this server."))
    backend = models.CharField(max_length=8, choices=Backend.choices, blank=True)
    cli_command = models.CharField(
        max_length=500, blank=True, help_text=_('The yunohost command line ("sudo -n /usr/bin/yunohost").')
    )
    emulator_state = models.CharField(
        max_length=500, blank=True, help_text=_("The bundled emulator's state file (development and tests).")
    )
    lock_file = models.CharField(max_length=500, blank=True, help_text=_("YunoHost's lock file, when readable."))
    api_url = models.CharField(max_length=500, blank=True)
    api_password = models.TextField(blank=True, default="", editable=False)  # encrypted "user:password"
    api_ca_bundle = models.CharField(max_length=500, blank=True)
    version = models.CharField(max_length=2, blank=True, choices=[("11", "11"), ("12", "12")])
    public_ips = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Comma-separated: where a site's name must point before its certificate."),
    )
    capacity_accounts = models.PositiveIntegerField(default=5000)
    capacity_sites = models.PositiveIntegerField(default=1000)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # The Celery queue its lane worker reads: "yunohost" for the first server (the unit it
    # always had), "yunohost.<name>" for the others (deploy/systemd/blahaj-lane@.service).
    queue = models.CharField(max_length=64, unique=True, editable=False)
    uses_settings = models.BooleanField(default=False, editable=False)
    # Counters: accounts and sites placed here (recounted by the sweep), and the line's tickets:
    # every operation takes the next number when it is queued (positions, line.py).
    accounts = models.PositiveIntegerField(default=0, editable=False)
    sites = models.PositiveIntegerField(default=0, editable=False)
    tickets = models.BigIntegerField(default=0, editable=False)
    # What the lane's recent commands took (a moving average), and when one last ended.
    command_seconds = models.FloatField(default=3.0, editable=False)
    last_command_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When staff were told the lane stopped moving (once, until it moves again).
    stuck_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def domain(self) -> str:
        """The main domain, the setting's for the first server when its own is empty."""
        return self.main_domain or (settings.YUNOHOST_DOMAIN if self.uses_settings else "")

    @property
    def backend_name(self) -> str:
        return self.backend or (settings.YUNOHOST_BACKEND if self.uses_settings else "")

    @property
    def yunohost_version(self) -> str:
        return self.version or str(settings.YUNOHOST_VERSION)


def first_server() -> Server:
    """The first server: the row named YUNOHOST_SERVER_NAME, made from the settings if the table
    lost it (a fresh test database; migration 0007 makes it everywhere else)."""
    server = Server.objects.filter(name=settings.YUNOHOST_SERVER_NAME).first()
    if server is not None:
        return server
    name = settings.YUNOHOST_SERVER_NAME
    queue = "yunohost" if not Server.objects.filter(queue="yunohost").exists() else f"yunohost.{name}"
    try:
        with transaction.atomic():
            return Server.objects.create(name=name, queue=queue, uses_settings=True)
    except IntegrityError:  # another process made it first
        return Server.objects.get(name=name)


def first_server_id() -> int:
    return first_server().pk


class Operation(models.Model):
    class Kind(models.TextChoices):
        USER_CREATE = "user.create", _("Create a YunoHost user")
        USER_UPDATE = "user.update", _("Update a YunoHost user")
        USER_DELETE = "user.delete", _("Delete a YunoHost user")
        DOMAIN_ADD = "domain.add", _("Add a domain")
        CERT_INSTALL = "cert.install", _("Install a certificate")
        APP_INSTALL = "app.install", _("Install an app")
        APP_REMOVE = "app.remove", _("Remove an app")
        APP_CONFIG_SET = "app.config_set", _("Change an app's configuration")
        DOMAIN_REMOVE = "domain.remove", _("Remove a domain")
        WEBAPP_RESET = "webapp.reset", _("Reset a web app to its initial state")
        GIT_SYNC = "webapp.git_sync", _("Clone a site's git repository into its web root")
        WEBAPP_ACCESS = "webapp.access", _("Make a site public, or open to its owner and the admins only")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    UNFINISHED = (Status.PENDING, Status.RUNNING)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What the operation acts on ("user:alice", "domain:alice.blahaj.land"). Operations of
    # one subject run in `sequence` order: a plan of steps.
    subject = models.CharField(max_length=255)
    sequence = models.PositiveIntegerField()
    # Everything the command needs, so a row runs even after its user row is gone. Secrets
    # never go here: they live encrypted in `secret_args` and are wiped when the row ends.
    args = models.JSONField(default=dict, blank=True)
    secret_args = models.TextField(blank=True, default="", editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Real tries only: a busy YunoHost or a busy lane does not count.
    attempts = models.PositiveIntegerField(default=0)
    busy_waits = models.PositiveIntegerField(
        default=0, help_text=_("Times YunoHost answered that another command was running.")
    )
    output = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="yunohost_operations",
    )
    # The server whose lane runs it: its user's, a site's owner's (none given: the first server).
    server = models.ForeignKey(Server, on_delete=models.PROTECT, related_name="operations", default=first_server_id)
    # Its number in the server's line (Server.tickets), and whether it still waits for its first
    # run there: a place in line is counted from these two (line.py), never by scanning the queue.
    ticket = models.BigIntegerField(null=True, blank=True, editable=False)
    in_line = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Also the index of the subject-order queries: the claim's "no earlier unfinished
            # operation of this subject" and "the next pending operation of this subject".
            models.UniqueConstraint(fields=["subject", "sequence"], name="operation_subject_sequence"),
        ]
        indexes = [
            # The head of a server's line (its smallest ticket still in line) ...
            models.Index(fields=["server", "ticket"], condition=models.Q(in_line=True), name="operation_line"),
            # ... and the few that left the line ahead of an earlier one (line.line_position).
            models.Index(
                fields=["server", "ticket"],
                condition=models.Q(in_line=False, ticket__isnull=False),
                name="operation_left_line",
            ),
            # The fleet's health: a server's depth, oldest waiting operation, recent failures.
            models.Index(fields=["server", "status", "created_at"], name="operation_server_status"),
            # The sweeper: pending operations due before a cut-off, running ones (few) whose
            # heartbeat is stale; and the staff list filtered by status.
            models.Index(fields=["status", "next_attempt_at"], name="operation_status_due"),
            # The staff list filtered by kind (and status).
            models.Index(fields=["kind", "status"], name="operation_kind_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.subject} ({self.status})"


class OwnedObject(models.Model):
    """A YunoHost domain, app or user this service made, recorded before the command that makes it.

    The lane changes, resets, removes or hands out credentials only for what a row here says
    it made: `intended` is written before the command runs (a worker that dies meanwhile leaves
    the proof of its attempt), `created` once YunoHost confirmed it, `removed` once it is gone.
    An app's id is known only after its install (nothing prints it): until then the row holds
    the ids `app list` showed before, and the new one is what appeared since at its domain and
    path.
    """

    class Kind(models.TextChoices):
        DOMAIN = "domain", _("Domain")
        APP = "app", _("App")
        USER = "user", _("User")

    class State(models.TextChoices):
        INTENDED = "intended", _("About to be made")
        CREATED = "created", _("Made")
        REMOVED = "removed", _("Removed")

    ALIVE = (State.INTENDED, State.CREATED)

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The domain's name, the app's instance id ("" until the install that makes it ends), or the
    # user's name (a user's `domain` is its mail domain).
    name = models.CharField(max_length=253, blank=True)
    domain = models.CharField(max_length=253)
    path = models.CharField(max_length=255, default="/")
    state = models.CharField(max_length=16, choices=State.choices, default=State.INTENDED)
    # The operation that made it; a reset's install and a removal refer to the row, not to it.
    operation = models.ForeignKey(
        Operation, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_objects"
    )
    apps_before = models.JSONField(default=list, blank=True, help_text=_("App ids listed before the install."))
    # The server it is on (the operation's); what the fleet counts as its accounts and sites.
    server = models.ForeignKey(Server, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_objects")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One live record per YunoHost object of a server (app instance ids are each server's
            # own): an instance id or a domain freed and made again gets a new row, the old one
            # stays as history.
            models.UniqueConstraint(
                # (kind, name) first: also the index of the look-ups by name, on every server.
                fields=["kind", "name", "server"],
                condition=models.Q(state__in=["intended", "created"]) & ~models.Q(name=""),
                name="owned_object_alive_unique",
            ),
        ]
        indexes = [
            # "What of ours is on this domain": every site step asks it.
            models.Index(fields=["domain", "kind", "state"], name="owned_object_domain"),
            models.Index(fields=["server", "kind", "state"], name="owned_object_server"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name or '(installing)'} on {self.domain} ({self.state})"
