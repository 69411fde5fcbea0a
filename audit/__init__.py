"""The audit log (docs/architecture.md, "The audit log"). The whole API a service needs:

    import audit

    audit.record(action="user.disable", object="user:alice")          # ok, in your transaction
    audit.record(action="x.y", object="...", result="refused", detail="why")

    @transaction.atomic
    @audit.audited("tier.delete", target=lambda kwargs, _: f"tier:{kwargs['tier'].slug}")
    def tier_delete(*, tier): ...                                       # ok / refused / failed

    with audit.command_scope("yunohost_import"): ...                    # a command's door

Who and from where come from the scope the door opened (audit.middleware, command_scope,
the Celery task signals, the lane's scope).
"""

from .recorder import Door, Result, audited, command_scope, current, identify, of, record, refused, scope

__all__ = ["Door", "Result", "audited", "command_scope", "current", "identify", "of", "record", "refused", "scope"]
