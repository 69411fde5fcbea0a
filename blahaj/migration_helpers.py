"""What the migrations that move a model between apps share (docs/architecture.md; CONTRIBUTING,
"Moving a model between apps"). Historical models only: each function gets the migration's
`apps`, never imports a model, so it runs the same on any database state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

RunPythonCode = Callable[[Any, Any], None]


def content_types_mover(from_label: str, to_label: str, models: Iterable[str]) -> RunPythonCode:
    """A RunPython function: the content types of `models` move from `from_label` to `to_label`,
    so that permissions, group grants and the admin's log follow the model (rows keep their ids)."""
    names = tuple(models)

    def move(apps: Any, schema_editor: Any) -> None:
        ContentType = apps.get_model("contenttypes", "ContentType")
        Permission = apps.get_model("auth", "Permission")
        db = schema_editor.connection.alias
        for model in names:
            old = ContentType.objects.using(db).filter(app_label=from_label, model=model).first()
            if old is None:
                continue  # a fresh database: post_migrate creates the new one
            new = ContentType.objects.using(db).filter(app_label=to_label, model=model).first()
            if new is None:
                old.app_label = to_label
                old.save(update_fields=["app_label"])
                continue
            # Both exist: the old one's permissions, with their grants, join the new one.
            for permission in Permission.objects.using(db).filter(content_type=old):
                twin = Permission.objects.using(db).filter(content_type=new, codename=permission.codename).first()
                if twin is None:
                    permission.content_type = new
                    permission.save(update_fields=["content_type"])
                    continue
                twin.group_set.add(*permission.group_set.all())
                twin.user_set.add(*permission.user_set.all())
                permission.delete()
            old.delete()
        ContentType.objects.clear_cache()

    return move
