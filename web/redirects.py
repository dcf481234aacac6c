"""Where a login may send the browser next: a path on this site, never anywhere else.

Browsers drop tabs and newlines from URLs and read a backslash as a slash, so `/\t/evil`
and `/\\evil` both mean `//evil`, another host. A target passes only when it holds no such
characters, has no scheme or host, and its path, also once percent-decoded, starts with
exactly one slash and holds none of them either.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

MAX_TARGET_LENGTH = 2000


def _suspicious(text: str) -> bool:
    if "\\" in text:
        return True
    return any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in text)


def safe_next_path(target: str | None) -> str | None:
    """The target as a normalised same-site path, or None when it is not one."""
    if not target or len(target) > MAX_TARGET_LENGTH or _suspicious(target):
        return None
    parts = urlsplit(target)
    if target.startswith("//") or parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    decoded = unquote(unquote(parts.path))
    if decoded.startswith("//") or _suspicious(decoded):
        return None
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))
