"""Answers made safe to show, speak, keep and export: no control characters, no broken letters.

A model (or a remote engine) can emit raw control characters (U+0005, U+0014) or U+FFFD, the
mark for bytes that were not valid UTF-8. Random test weights make them common, real models
rare, but one is enough to garble speech or break a caption file. Every answer passes through
`clean_text` where it is assembled (the engine, `collect`), so the caption, speech, history,
exports and the server all get the same clean text. Newlines and tabs stay.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the replacement character.
_UNWANTED = re.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ufffd]")


def clean_text(text: str) -> str:
    """`text` without control characters (newlines and tabs kept) or replacement characters."""
    return _UNWANTED.sub("", text)
