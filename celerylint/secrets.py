"""Masking passwords in text celerylint prints: URL passwords and Flower logins become ``****``.

Rules quote the files they read (credentials-in-manifest's messages), and ``--diff`` and the
JSON ``diff`` field show whole lines around another rule's fix: either could print a password
written in the repository into a CI log. Everything printed from a file goes through ``mask``.

Only what is a secret is masked: a password that is a variable or template reference
(``${REDIS_PASSWORD}``, ``$(REDIS_PASSWORD)``, ``{{ .Values.password }}``) is not one and stays,
so the reader still sees where the value comes from; the default of a fallback
(``${REDIS_PASSWORD:-s3cret}``) is written in the file, and is masked.

celerylint reads hostile input: the patterns are linear (no nested quantifiers), and each
step is matched on its own so that a failed match never backtracks into the previous one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MASK = "****"

#: A scheme's characters (RFC 3986), scanned back from ``://``.
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
#: The authority after ``://``: up to the path, a blank or a quote. ``?``/``#``/``,``/``;`` do
#: not end it, so a password holding one is masked whole (the last ``@`` ends the userinfo).
_AUTHORITY = re.compile(r"[^\s/'\"]*")
#: A whole reference: the password is not written in the file.
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}|\$\([A-Za-z_][A-Za-z0-9_]*\)"
                        r"|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*")
#: A reference with a fallback written in the file (``${NAME:-default}``): group 2 is it.
_FALLBACK = re.compile(r"(\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=+])([^}]*)\}")

#: Where a Flower login follows: ``--basic-auth``, ``--basic_auth``, ``FLOWER_BASIC_AUTH``,
#: flowerconfig's ``basic_auth``, a chart's ``basicAuth``.
_LOGIN_KEY = re.compile(r"(?i)basic[-_]?auth(?![A-Za-z0-9_])")
#: Between the key and the login: ``=``, ``: "``, ``, '``, ``= ["``, a line break (and a diff's
#: line mark) before a Kubernetes ``value:``.
_LOGIN_GAP = re.compile(r"[\s\"'=:,\[+-]{0,80}")
_VALUE_KEY = re.compile(r"value[\s\"']{0,8}:[\s\"']{0,8}")
_LOGIN = re.compile(r"(?![-+])[^\s\"':,=/\[\]]{0,256}:([^\s\"',]*)")
#: Between two logins of a list: ``admin:a,ops:b`` or ``"admin:a", "ops:b"``.
_NEXT_LOGIN = re.compile(r"[\"']?[^\S\n]{0,8},[^\S\n]{0,8}[\"']?")


class UrlPassword(NamedTuple):
    """A ``scheme://user:password@host`` URL's parts; offsets into the text searched."""

    scheme: str
    user: str
    password: str
    start: int  # of the scheme
    password_start: int
    password_end: int  # the ``@`` that ends the userinfo


def url_passwords(text: str) -> list[UrlPassword]:
    """Each URL with a password (empty ones included; ``scheme`` is empty when none is
    written): the userinfo ends at the authority's last ``@`` (``redis://:p@ss@redis`` has the
    password ``p@ss``), as in ``urllib.parse``."""
    found: list[UrlPassword] = []
    at = text.find("://")
    while at != -1:
        begin = at
        while begin and text[begin - 1] in _SCHEME_CHARS:  # runs between `://`s: linear
            begin -= 1
        while begin < at and not text[begin].isalpha():
            begin += 1
        authority_start = at + 3
        authority = _AUTHORITY.match(text, authority_start)
        assert authority is not None
        userinfo_end = authority.group(0).rfind("@")
        if userinfo_end != -1:
            user, colon, password = authority.group(0)[:userinfo_end].partition(":")
            if colon:
                start = authority_start + len(user) + 1
                found.append(UrlPassword(text[begin:at], user, password, begin, start,
                                         start + len(password)))
        # the next URL's `:` may end this authority (`redis://a:1,redis://...`)
        at = text.find("://", max(authority.end() - 1, authority_start))
    return found


def mask(text: str) -> str:
    """The text with every literal URL password and Flower login password replaced by ``****``
    (``redis://:****@redis:6379/0``, ``--basic-auth=admin:****``)."""
    spans = sorted([(u.password_start, u.password_end) for u in url_passwords(text)] +
                   _login_passwords(text))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:  # overlapping: mask both, whole
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    out, cursor = [], 0
    for start, end in merged:
        out.append(text[cursor:start])
        out.append(_masked(text[start:end]))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def written_part(password: str) -> str:
    """What of a password is written in the file: nothing for a reference (``${PASSWORD}``,
    ``$(PASSWORD)``, ``{{ ... }}``), the default of a fallback (``${PASSWORD:-s3cret}``), else all
    of it."""
    if _REFERENCE.fullmatch(password):
        return ""
    fallback = _FALLBACK.fullmatch(password)
    return fallback.group(2) if fallback else password


def _masked(password: str) -> str:
    if not written_part(password):
        return password
    fallback = _FALLBACK.fullmatch(password)
    return f"{fallback.group(1)}{MASK}}}" if fallback else MASK  # ${NAME:-****}


def _login_passwords(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each password of a Flower login (``user:password[,user:password]``)
    after a basic-auth key."""
    found: list[tuple[int, int]] = []
    key = _LOGIN_KEY.search(text)
    while key is not None:
        cursor = _LOGIN_GAP.match(text, key.end()).end()  # type: ignore[union-attr]
        value = _VALUE_KEY.match(text, cursor)
        login = _LOGIN.match(text, value.end() if value else cursor)
        while login is not None:
            found.append(login.span(1))
            cursor = login.end()
            more = _NEXT_LOGIN.match(text, cursor)
            login = _LOGIN.match(text, more.end()) if more else None
        key = _LOGIN_KEY.search(text, max(cursor, key.end()))
    return found
