"""Text from a model made safe for the files people keep: one clean line, escaped for its format.

A model (or a remote engine) can answer anything: HTML, Markdown syntax, control characters,
Unicode line and paragraph separators, bidirectional overrides. Exports are read by people, by
players and by other programs, so every description passes through here first.
"""

from __future__ import annotations

import html
import re

from app.inference.answer import clean_text

# Bidirectional embeddings, overrides and isolates: they can make text read other than it is.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_NO_BIDI = dict.fromkeys(map(ord, _BIDI_CONTROLS))
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LIST_OR_QUOTE_START = re.compile(r"^(\s*)([-+>]|\d+[.)])")
_TAG = re.compile(r"<[^<>]*>")


def one_line(text: str) -> str:
    """`text` as one line: control characters and bidi overrides gone, every kind of whitespace one space.

    Line and paragraph separators (U+2028, U+2029) are whitespace here, like newlines; what is
    left of each word is cleaned as every answer is (`clean_text`).
    """
    words = (clean_text(word).translate(_NO_BIDI) for word in text.split())
    return " ".join(word for word in words if word)


def markdown_text(text: str) -> str:
    """One clean line for Markdown: HTML shown as text, Markdown syntax shown as written."""
    escaped = html.escape(one_line(text), quote=False)  # <script> stays text, never markup
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", escaped)
    return _LIST_OR_QUOTE_START.sub(r"\1\\\2", escaped)  # never a list item or a quote of its own


def webvtt_text(text: str) -> str:
    """One clean line for a WebVTT cue: `<` and `&` as entities (cue text has tags), never `-->`."""
    return html.escape(one_line(text), quote=False).replace("--&gt;", "-&gt;")


def subrip_text(text: str) -> str:
    """One clean line for SubRip: players read `<i>`-style tags in it, so tags are taken out."""
    return one_line(_TAG.sub("", text)).replace("-->", "->")


def json_safe(document: str) -> str:
    """A JSON text with line separators and bidi controls written as escapes.

    The same string to a program; nothing invisible to a person; and U+2028/U+2029 no longer end
    a string for JavaScript older than ES2019.
    """
    for ch in ("\u2028", "\u2029", *sorted(_BIDI_CONTROLS)):
        document = document.replace(ch, f"\\u{ord(ch):04x}")
    return document
