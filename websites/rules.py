"""What a website request may ask for: the domain and git URL rules of the HTTP contract
(docs/api.md, "Input rules"), checked before anything is recorded or queued, so that what we
accept, YunoHost accepts too."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from urllib.parse import urlsplit

import idna
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj.errors import ApplicationError

LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
TLD_RE = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Names YunoHost itself refuses (domain add, in 11) or uses for its own services.
REFUSED_PREFIXES = ("xmpp-upload.", "muc.")
# An alphabet, not a password; never { or }: my_webapp refuses them (docs/yunohost.md §6).
PASSWORD_SYMBOLS = "-_.!@%+*"  # noqa: S105


class DomainInvalid(ApplicationError):
    code = "domain_invalid"


class DomainNotAllowed(ApplicationError):
    code = "domain_not_allowed"
    message = gettext_lazy("This domain is not allowed for your tier.")  # a lazy translation


class GitUrlInvalid(ApplicationError):
    code = "git_url_invalid"


def _invalid_domain(sentence: str) -> DomainInvalid:
    return DomainInvalid(sentence, fields={"domain": [sentence]})


def domain_normalize(raw: str) -> str:
    """The domain as YunoHost will have it (lower case, IDN as punycode), or DomainInvalid."""
    domain = raw.strip()
    if not domain:
        raise _invalid_domain(_("Domain: this field may not be blank."))
    if domain != domain.lower():
        raise _invalid_domain(_("Domain names are lower case: write the domain in lower case."))
    if domain.endswith("."):
        raise _invalid_domain(_("Domain: write it without the trailing dot."))
    if "*" in domain:
        raise _invalid_domain(_("Domain: wildcard domains are not supported."))
    labels = [_a_label(label) for label in domain.split(".")]
    domain = ".".join(labels)
    if (
        len(domain) > 253
        or len(labels) < 2
        or not TLD_RE.match(labels[-1])
        or not all(LABEL_RE.match(label) for label in labels)
    ):
        raise _invalid_domain(_("Domain: this is not a valid domain name."))
    if domain.startswith(REFUSED_PREFIXES):
        raise _invalid_domain(_("Domain: names starting with xmpp-upload. or muc. are reserved by YunoHost."))
    return domain


def _a_label(label: str) -> str:
    """The label as YunoHost gets it (ASCII): an internationalized one must be a valid IDNA 2008
    label (RFC 5891, the `idna` package, not Python's IDNA 2003 codec) in a single script."""
    if label.isascii() and not label.lower().startswith("xn--"):
        return label  # plain LDH: the label pattern below decides
    try:
        unicode = idna.decode(label) if label.isascii() else label
        encoded = idna.encode(unicode).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise _invalid_domain(_("Domain: this is not a valid internationalized domain name (IDNA 2008).")) from None
    if label.isascii() and encoded != label:
        raise _invalid_domain(_("Domain: this is not a valid internationalized domain name (IDNA 2008)."))
    if not _one_script(unicode):
        raise _invalid_domain(
            _("Domain: a name may not mix writing systems (such as Latin and Cyrillic letters that look alike).")
        )
    return encoded


# Scripts that may share a label (Unicode TS #39, "highly restrictive"): Japanese, Chinese and
# Korean writing mix their scripts with Latin; any other mix is how homographs are made.
_SCRIPT_SETS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def _script(char: str) -> str | None:
    """The script of a letter from its Unicode name; None for digits and the hyphen."""
    if char.isascii() and not char.isalpha():
        return None
    category = unicodedata.category(char)
    if category.startswith("M"):
        return None  # a combining mark takes its base letter's script
    word = unicodedata.name(char, "UNKNOWN").split()[0]
    return "HAN" if word == "CJK" else word


def _one_script(label: str) -> bool:
    scripts = {script for script in map(_script, label) if script}
    return len(scripts) <= 1 or any(scripts <= allowed for allowed in _SCRIPT_SETS)


def reserved(label: str) -> bool:
    return label in {name.lower() for name in settings.WEBSITES_RESERVED_NAMES}


def is_subdomain_of_main(domain: str) -> bool:
    return domain.endswith("." + settings.YUNOHOST_DOMAIN)


def domain_check_tier(domain: str, *, custom_domains: bool) -> None:
    """Every tier: exactly one free label under the main domain; custom domains if the tier says so."""
    main = settings.YUNOHOST_DOMAIN
    if is_subdomain_of_main(domain):
        label = domain[: -len(main) - 1]
        if "." in label:
            raise DomainNotAllowed(
                _("Choose a name of one label under %(main)s, such as myname.%(main)s.") % {"main": main}
            )
        if reserved(label):
            raise DomainNotAllowed(_("%(domain)s is reserved; choose another name.") % {"domain": domain})
        return
    if domain == main or not custom_domains:
        raise DomainNotAllowed(
            _("Your tier allows only a name under %(main)s, such as myname.%(main)s.") % {"main": main}
        )


def _allowed_host(host: str, port: int | None) -> bool:
    # An entry is a host (https on its default port) or "host:port".
    allowed = settings.WEBSITES_GIT_HOSTS
    return (host in allowed and port in (None, 443)) or f"{host}:{port}" in allowed


def git_url_check(raw: str) -> str:
    """An https URL on an allowed host, without credentials, query or fragment."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise GitUrlInvalid(
            _("Git URL: this is not a valid URL."), fields={"git_url": [_("Not a valid URL.")]}
        ) from None
    problem = None
    if parts.scheme != "https":
        problem = _("Git URL: only https:// URLs are accepted.")
    elif parts.username is not None or parts.password is not None or "@" in parts.netloc:
        problem = _("Git URL: remove the credentials from the URL.")
    elif parts.query or parts.fragment or "?" in url or "#" in url:
        problem = _("Git URL: remove the query or fragment from the URL.")
    elif not _allowed_host(parts.hostname or "", port):
        hosts = ", ".join(settings.WEBSITES_GIT_HOSTS)
        problem = _("Git URL: the repository must be on one of %(hosts)s.") % {"hosts": hosts}
    elif not re.fullmatch(r"/[A-Za-z0-9._~/-]+", parts.path or "") or ".." in parts.path:
        problem = _("Git URL: the path names no repository.")
    if problem:
        raise GitUrlInvalid(problem, fields={"git_url": [problem]})
    return url


def sftp_password() -> str:
    """A random password that passes YunoHost's strongest check (level 4) and has no { or }."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, PASSWORD_SYMBOLS]
    alphabet = "".join(classes)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(24))
        if all(any(char in group for char in password) for group in classes):
            return password
