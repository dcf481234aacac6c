"""Text measuring, wrapping and XML-safety for diagram labels.

Width estimates (one em per East Asian wide character), `wrap_text` with CJK breaks per
character and no line starting with closing punctuation, and stripping characters XML
cannot hold. Nothing here creates SVG elements: that is `svg`.
"""

from __future__ import annotations

import re

_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# East Asian wide characters: each is a possible line break and one em wide.
_WIDE_RANGES = (
    "\u1100-\u115f\u2e80-\u303e\u3040-\ua4cf\uac00-\ud7a3"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
)
WIDE = re.compile(f"[{_WIDE_RANGES}]")
_TOKEN = re.compile(f"[{_WIDE_RANGES}]|\\s+|[^\\s{_WIDE_RANGES}]+")
_NO_LINE_START = frozenset(
    "\uff0c\u3002\u3001\uff1b\uff1a\uff1f\uff01\u201d\u2019\uff09\u300b\u3011,.;:?!)"
)
ELLIPSIS = "\u2026"


def xml_safe(text: str) -> str:
    """`text` without the control characters and surrogates XML 1.0 forbids."""
    return _XML_UNSAFE.sub("", text)


def _char_width(ch: str, size: float) -> float:
    if WIDE.match(ch):
        return size
    if ch.isspace():
        return size * 0.3
    return size * (0.62 if ch.isupper() or ch.isdigit() else 0.55)


def text_width(text: str, size: float) -> float:
    """Estimated drawn width of `text` at font `size` (no font metrics on the server)."""
    return sum(_char_width(ch, size) for ch in text)


def wrap_text(text: str, width: float, size: float, max_lines: int) -> list[str]:
    """Wrap `text` into at most `max_lines` lines of `width` (CJK breaks per character)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_paragraph(paragraph.strip(), width, size))
    lines = [line for line in lines if line]
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = _ellipsize(kept[-1], width, size)
    return kept


def latin_words(text: str) -> list[str]:
    """The runs of `text` that wrapping keeps whole (no East Asian wide characters, no spaces)."""
    return [
        token for token in _TOKEN.findall(text) if not token.isspace() and not WIDE.match(token)
    ]


def _wrap_paragraph(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in _TOKEN.findall(text):
        candidate = current + (" " if token.isspace() else token)
        if text_width(candidate.rstrip(), size) <= width or token[0] in _NO_LINE_START:
            current = candidate
            continue
        lines.append(current.rstrip())
        current = "" if token.isspace() else token
        while text_width(current, size) > width and len(current) > 1:
            cut = _fit_prefix(current, width, size)
            lines.append(current[:cut])
            current = current[cut:]
    lines.append(current.rstrip())
    return lines


def _fit_prefix(text: str, width: float, size: float) -> int:
    used = 0.0
    for index, ch in enumerate(text):
        used += _char_width(ch, size)
        if used > width:
            return max(index, 1)
    return len(text)


def _ellipsize(line: str, width: float, size: float) -> str:
    while line and text_width(line + ELLIPSIS, size) > width:
        line = line[:-1]
    return line + ELLIPSIS
