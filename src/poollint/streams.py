"""Output that cannot fail on what it prints.

A finding can quote text Python cannot encode: a lone surrogate written as an
escape in a string literal (`"/\\ud800"` in a route path), or the name of a
file that is not valid UTF-8 (Python holds its bytes as surrogates). Printing
either to a strict stream raised UnicodeEncodeError halfway through the report,
after every file had been checked.
"""

from __future__ import annotations

import codecs
import sys

ERRORS = "poollint-escape"


def _escape(error: UnicodeError) -> tuple:
    # A file name's undecodable bytes go out as they are on disk (what
    # `surrogateescape` does), so the path can be used again; anything else
    # the encoding cannot hold is written as a visible backslash escape.
    try:
        return codecs.lookup_error("surrogateescape")(error)
    except UnicodeError:
        return codecs.lookup_error("backslashreplace")(error)


def make_output_tolerant() -> None:
    """Have stdout and stderr escape what their encoding cannot hold instead of raising."""
    try:
        codecs.lookup_error(ERRORS)
    except LookupError:
        codecs.register_error(ERRORS, _escape)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError):  # a stream that cannot change any more
            pass
