"""Database URLs as users give them: plain paths, ``postgresql://`` URLs, and their passwords.

No database library here: ``ilog config show`` masks a URL without importing one. A
password never reaches output: :func:`mask_url` hides everything between the user name and
the host (passwords may hold ``@``, ``:``, ``/`` and spaces), and :func:`password_forms`
gives every spelling of a URL's password (as typed, percent-decoded, percent-encoded) so a
driver's message quoting any of them can be cleaned (:func:`scrub`).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
#: what a misspelt ``postgresql://`` looks like as a "path": a scheme-ish word, then ``/`` or ``:``
_LOOKS_LIKE_URL = re.compile(r"^(postgres(ql)?|sqlite|mysql|mariadb|oracle|mssql)[a-z0-9+.]*(:|//|/)", re.I)


def is_url(text: str) -> bool:
    return bool(_SCHEME.match(text)) or text.startswith("sqlite:")


def looks_like_a_mistyped_url(text: str) -> bool:
    """``postgresql//u:pw@db/ilog`` or ``postgresql:/db``: meant as a URL, not a file name."""
    return not is_url(text) and bool(_LOOKS_LIKE_URL.match(text))


def normalise_url(url: str) -> str:
    """A SQLAlchemy URL for what the user gave: a plain path means an SQLite file."""
    if not is_url(url):
        path = Path(url).expanduser()
        return "sqlite:///" + str(path if url == ":memory:" else path.absolute())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None (memory, other backends)."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def _userinfo(url: str) -> tuple[int, int] | None:
    """Where the ``user:password`` part of a URL starts and ends, or None."""
    match = _SCHEME.match(url)
    if not match:
        return None
    start = match.end()
    at = url.rfind("@", start)  # the last "@": a password may hold "@" itself
    if at < 0:
        return None
    return start, at


def password_of(url: str) -> str | None:
    """The password of a URL as written in it (possibly percent-encoded), or None."""
    span = _userinfo(url)
    if span is None:
        return None
    userinfo = url[span[0]:span[1]]
    if ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1] or None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (also a ``password=`` parameter)."""
    span = _userinfo(url)
    if span is not None:
        start, at = span
        userinfo = url[start:at]
        if ":" in userinfo:
            url = f"{url[:start]}{userinfo.split(':', 1)[0]}:***{url[at:]}"
    return re.sub(r"(\bpassword=)('[^']*'|[^&\s]*)", r"\1***", url, flags=re.IGNORECASE)


def password_forms(url: str) -> list[str]:
    """Every spelling of the URL's password a message might quote, longest first."""
    raw = password_of(url)
    if not raw:
        return []
    forms = {raw, unquote(raw), quote(unquote(raw), safe="")}
    forms |= {part for form in list(forms) for part in re.split(r"[\s@:/]+", form) if len(part) >= 3}
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every URL's password masked and each of ``secrets`` replaced by ``***``."""
    text = re.sub(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+", lambda m: mask_url(m.group(0)), text)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
