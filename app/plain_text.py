"""Text that SmolSight shows or writes, made safe in one place: `shown`, and the formats built on it.

A model, a remote engine, a model's name, a file's name, an error a server sent back: any of
them can hold what a terminal or a reader acts on instead of showing — escape sequences that
clear the screen, recolour it or ring it (ESC [2J, ESC ] … BEL), other control
characters, bidirectional embeddings, overrides and isolates that make text read other than
it is, line and paragraph separators, zero-width characters. Every line on the terminal
(answers, errors, file names, model ids), the log and every export passes through `shown`
(tests/integration/test_hostile_engine.py shows it on each path with a hostile engine).

Kept: newlines and tabs where lines are wanted; the zero-width joiner and non-joiner (U+200C,
U+200D), which carry meaning in emoji sequences and in Persian and Indic scripts.
"""

from __future__ import annotations

import html
import json
import re

# ESC sequences whole (CSI "\x1b[…X", OSC "\x1b]…BEL" or "…ESC \\", two-character ones), and C1's CSI.
_ESCAPES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]"
)
# C0 controls but tab and newline, DEL, C1 controls; the replacement character (bytes that were
# not UTF-8); bidi embeddings, overrides, isolates and marks; zero-width spaces, word joiners,
# invisible operators, the byte-order mark, the soft hyphen, the Mongolian vowel separator.
_INVISIBLE = re.compile(
    "[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ufffd\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c"
    "\\u200b\\u2060-\\u2064\\ufeff\\u00ad\\u180e]"
)
_SEPARATORS = re.compile("[\\u2028\\u2029\\x85]")  # line and paragraph separators, NEL
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LIST_OR_QUOTE_START = re.compile(r"^(\s*)([-+>]|\d+[.)])")
_TAG = re.compile(r"<[^<>]*>")


def shown(text: str, *, lines: bool = True) -> str:
    """`text` as it may be shown or written (module docs); with `lines`, newlines and tabs stay.

    Line and paragraph separators become newlines (with `lines`) or spaces; everything else
    listed above is taken out.
    """
    text = _SEPARATORS.sub("\n" if lines else " ", _ESCAPES.sub("", text))
    if not lines:
        text = text.replace("\n", " ").replace("\t", " ").replace("\r", " ")
    return _INVISIBLE.sub("", text)


def one_line(text: str) -> str:
    """`text` as one line (`shown`), every run of white space one space."""
    return " ".join(shown(text, lines=False).split())


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


def _shown_everywhere(data: object) -> object:
    """Every string in a JSON-able structure (keys too) passed through `shown`."""
    if isinstance(data, str):
        return shown(data)
    if isinstance(data, dict):
        return {_shown_everywhere(k): _shown_everywhere(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_shown_everywhere(v) for v in data]
    return data


def json_text(data: object) -> str:
    """A JSON document of `data` with every string `shown` (newlines kept, as escapes), indented."""
    return json.dumps(_shown_everywhere(data), indent=2, ensure_ascii=False) + "\n"
