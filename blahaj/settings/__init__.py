"""Settings for blahaj accounts, read from the environment.

Every variable is listed, with its default, in `.env.example` and in the README. The
defaults make a fresh checkout run on its own (SQLite, in-process tasks, the YunoHost
emulator, emails on the console); production sets `DJANGO_DEBUG=false` and the rest.

One module a concern, each importing what it needs from the others (so their order here does
not matter): environment (the typed helpers, debug, the secret key, the site's address),
project (apps, middleware, templates, languages, static files), stores (database, cache),
background (Celery, the beat, the outbox), accounts (auth, sign-up, second factor, JWTs), api
(REST framework, OpenAPI), mail (email, Discord), yunohost (the client and the lane),
websites, observability (probes, metrics, logs, error reports), security (proxies, HTTPS,
cookies, headers). `DJANGO_SETTINGS_MODULE` stays `blahaj.settings`.
"""

from __future__ import annotations

from .accounts import *  # noqa: F403
from .api import *  # noqa: F403
from .background import *  # noqa: F403
from .environment import *  # noqa: F403
from .mail import *  # noqa: F403
from .observability import *  # noqa: F403
from .project import *  # noqa: F403
from .security import *  # noqa: F403
from .stores import *  # noqa: F403
from .websites import *  # noqa: F403
from .yunohost import *  # noqa: F403
