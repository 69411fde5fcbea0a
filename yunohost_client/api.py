"""The HTTP API backend: talks to `yunohost-api` over HTTP (docs/yunohost.md §5)."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

from .base import (
    _ERROR_KEYS,
    Call,
    Result,
    YunohostClient,
    YunohostError,
    YunohostPermanent,
    YunohostTransient,
    YunohostUnknownOutcome,
    classify,
    redact,
)

# One logger for the whole client, under the name it has always had (log filters and alerts use it).
logger = logging.getLogger("provisioning.yunohost")

# --- HTTP API backend ---------------------------------------------------------------------------


class ApiBackend(YunohostClient):
    """Talks to yunohost-api, e.g. ``https://example.org/yunohost/api`` (docs/yunohost.md §5).

    ``password`` holds the login credentials as ``user:password`` (an admin, YunoHost >= 11.1).
    Bodies are form-encoded, as the webadmin sends them: a JSON body would replace the URL's
    path parameters in moulinette 12. ``timeout`` is ``(connect, read)`` seconds (or one number
    for both); ``verify`` is True (the system's CAs) or the path of a CA bundle.

    Failures map to the CLI backend's classes: a refused login is permanent (retrying wrong
    credentials cannot help); no answer, a TLS failure, a timeout, a proxy's 502 or a body that
    is not the JSON it claims are transient.
    """

    def __init__(
        self,
        url: str,
        password: str,
        *,
        timeout: float | tuple[float, float] = (10, 300),
        verify: bool | str = True,
        session: requests.Session | None = None,
        version: str = "12",
    ) -> None:
        import requests  # only the API backend needs it

        self.url = url.rstrip("/")
        self._credentials = password
        self.timeout = timeout
        self.version = version
        self.verify = verify
        self.session = session or requests.Session()
        self.session.verify = verify
        # Required on form POSTs by moulinette's CSRF filter; harmless elsewhere.
        self.session.headers["X-Requested-With"] = "XMLHttpRequest"
        self._logged_in = False

    def __repr__(self) -> str:
        return f"ApiBackend(url={self.url!r}, timeout={self.timeout!r}, version={self.version!r})"

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self._credentials, self._credentials.partition(":")[2])

    def execute(self, call: Call) -> Any:
        return self.request(call.method, call.path, call.fields, command=call.command, secrets=call.secrets).data

    def request(
        self,
        method: str,
        path: str,
        fields: dict[str, Any] | None = None,
        *,
        command: str = "",
        secrets: Sequence[str] = (),
    ) -> Result:
        secrets = (*secrets, *self._secrets)
        if not self._logged_in:
            self._login(command)
        response = self._http(method, path, fields or {}, command, secrets)
        if response.status_code == 401:  # session expired or invalidated: log in again, once
            self._logged_in = False
            self._login(command)
            response = self._http(method, path, fields or {}, command, secrets)
        return self._result(response, method, path, command, secrets, fields or {})

    def _login(self, command: str) -> None:
        self.session.cookies.clear()
        response = self._http("POST", "/login", {"credentials": self._credentials}, command, self._secrets)
        if response.status_code != 200:
            status, text = response.status_code, _short(response.text)
            refused = status in (400, 401, 403)
            cls = YunohostPermanent if refused else classify(text)
            message = (
                f"YunoHost refused the admin credentials (YUNOHOST_API_PASSWORD): {status} {text}"
                if refused
                else f"login failed: {status} {text}"
            )
            raise cls(message, command=command, exit_code=status, secrets=self._secrets)
        self._logged_in = True

    def _http(
        self, method: str, path: str, fields: dict[str, Any], command: str, secrets: Sequence[str]
    ) -> requests.Response:
        import requests

        in_body = method in ("POST", "PUT")
        params = {"locale": "en"} if in_body else {"locale": "en", **fields}
        url = self.url + urllib.parse.quote(path)
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=fields if in_body else None,
                timeout=self.timeout,
                # Per request: with trust_env, REQUESTS_CA_BUNDLE would override the session's verify.
                verify=self.verify,
            )
        except requests.RequestException as e:
            # The exception's text may quote the URL or the request; never the body or the cookie.
            message = f"yunohost-api {method} {path}: {type(e).__name__}: {e}"
            logger.warning("yunohost-api %s %s: %s", method, path, type(e).__name__)
            if isinstance(e, requests.ReadTimeout) and method != "GET":
                # Sent, not answered: yunohost-api goes on running it; the outcome is unknown.
                raise YunohostUnknownOutcome(message, command=command, secrets=secrets) from None
            raise YunohostTransient(message, command=command, secrets=secrets) from None
        logger.info(
            "yunohost-api %s %s: HTTP %s after %.2f s", method, path, response.status_code, time.monotonic() - started
        )
        return response

    def _result(
        self,
        response: requests.Response,
        method: str,
        path: str,
        command: str,
        secrets: Sequence[str],
        call_fields: dict[str, Any],
    ) -> Result:
        body = response.text
        if response.status_code < 300:
            return Result(
                data=self._data(response, method, path, command, secrets), stdout=redact(body, secrets), stderr=""
            )
        cls, message = self._api_error(response)
        if command == "user create" and _bottle_error_page(response):
            username = redact(str((call_fields or {}).get("username", "")), secrets)
            cls, message = YunohostPermanent, USER_CLASH.format(username=username)
        crashed = message.startswith("yunohost-api crashed")
        raise cls(
            message or f"yunohost-api {method} {path}: HTTP {response.status_code}",
            command=command,
            exit_code=response.status_code,
            stdout="" if crashed else body,  # a traceback may quote anything, secrets included
            secrets=secrets,
        )

    @staticmethod
    def _data(response: requests.Response, method: str, path: str, command: str, secrets: Sequence[str]) -> Any:
        body = response.text
        if not body.strip():
            return None
        if "json" not in response.headers.get("Content-Type", ""):
            # yunohost-api answers JSON: anything else came from something in between (a portal, a proxy).
            raise YunohostTransient(
                f"yunohost-api {method} {path}: HTTP {response.status_code} with a non-JSON body: {_short(body)}",
                command=command,
                exit_code=response.status_code,
                secrets=secrets,
            )
        try:
            return response.json()
        except ValueError:
            raise YunohostTransient(
                f"yunohost-api {method} {path}: malformed JSON in the answer", command=command, secrets=secrets
            ) from None

    @staticmethod
    def _api_error(response: requests.Response) -> tuple[type[YunohostError], str]:
        """Map §5.5: 400 validation (JSON with error_key, or plain text), 500 errors, 401/403 auth."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            message = payload["error"]
            cls = _ERROR_KEYS.get(str(payload.get("error_key", "")))
            if cls is None:
                cls = classify(message)
                cls = YunohostPermanent if status == 400 and cls is YunohostTransient else cls
            return cls, message
        if isinstance(payload, dict) and "traceback" in payload:
            return YunohostTransient, f"yunohost-api crashed (HTTP {status})"  # not the traceback: it may hold secrets
        message = _short(response.text)
        if status in (400, 401, 403, 404, 405):
            found = classify(message)
            return (YunohostPermanent if found is YunohostTransient else found), message
        return classify(message), message  # 5xx: lock timeout (busy), crashes, proxies...


USER_CLASH = (
    "YunoHost refused to create the user {username}: the name, or its address on the domain, is already "
    "taken in YunoHost's directory by a group, a mail alias or another entry (YunoHost's API answers this "
    "refusal with a bare HTTP 500 page). Retrying cannot help: free the name on YunoHost, or give the "
    "account another username."
)


def _bottle_error_page(response: requests.Response) -> bool:
    """yunohost-api's answer when an error's content cannot be JSON-encoded (docs/yunohost.md §10.4).

    moulinette answers every YunoHost error, and every crash, with JSON or plain text; only an
    error that carries an exception object makes its ``json.dumps`` fail, and bottle then answers
    its own HTML "Internal Server Error" page. For `user create` that is the LDAP uniqueness
    check (``user_creation_failed``): the name clashes with a group, an alias or another entry.
    """
    content_type, text = response.headers.get("Content-Type", ""), response.text
    # bottle's page, not a proxy's ("<center>nginx</center>"): that one stays transient.
    bottle = "Sorry, the requested URL" in text and "<pre>Internal Server Error</pre>" in text
    return response.status_code == 500 and "html" in content_type and bottle


def _short(text: str, limit: int = 300) -> str:
    # A proxy's error page can be long HTML: keep messages readable in an operation's error field.
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
