"""Messages that travel outside encryption: query messages, whitespace tags, OTR errors.

Implements spec §Query Messages, §Whitespace Tags and §OTR Error Messages, and
the order in which a receiver recognises an incoming text (§Receiving
Fragments: ``?OTR|`` is checked before ``?OTR:``).

Decisions taken here where the specification leaves room:

* A query message is recognised anywhere in the text (the spec: "a message
  containing the string ?OTRv").  The version identifiers run up to the next
  ``?``; ``?OTRv?`` offers nothing (no reply).  A version identifier listed
  twice makes the query invalid (:class:`DuplicateQueryVersion`).
* Only the first whitespace tag counts; 8-byte version blocks made of spaces and
  tabs that name no known version are skipped but removed from the text.
* An error message must start with ``?OTR Error:``; an ``ERROR_n:`` code right
  after it is parsed when ``n`` is a known code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, IntEnum

from .errors import DecodeError, ValidationError

__all__ = [
    "ERROR_PREFIX",
    "QUERY_PREFIX",
    "WHITESPACE_BASE",
    "WHITESPACE_VERSIONS",
    "DuplicateQueryVersion",
    "ErrorCode",
    "ErrorMessage",
    "InvalidQueryVersion",
    "MessageKind",
    "QueryMessage",
    "WhitespaceTag",
    "classify",
    "encode_error",
    "encode_query",
    "find_whitespace_tag",
    "parse_error",
    "parse_query",
    "whitespace_tag",
]

QUERY_PREFIX = "?OTRv"
ERROR_PREFIX = "?OTR Error:"
FRAGMENT_PREFIX = "?OTR|"
ENCODED_PREFIX = "?OTR:"

#: The 16 bytes every whitespace tag starts with.
WHITESPACE_BASE = "\x20\x09\x20\x20\x09\x09\x09\x09\x20\x09\x20\x09\x20\x09\x20\x20"
#: The 8-byte block announcing each protocol version.
WHITESPACE_VERSIONS: dict[int, str] = {
    3: "\x20\x20\x09\x09\x20\x20\x09\x09",
    4: "\x20\x20\x09\x09\x20\x09\x20\x20",
}


class DuplicateQueryVersion(DecodeError):
    """A query message lists the same version identifier twice."""


class InvalidQueryVersion(ValidationError):
    """A version identifier to put in a query message is empty, '?' or more than one character."""


class ErrorCode(IntEnum):
    """The codes of OTR error messages (spec §OTR Error Messages)."""

    UNREADABLE_MESSAGE = 1
    NOT_IN_PRIVATE_STATE = 2
    MALFORMED_MESSAGE = 3


ERROR_TEXTS: dict[ErrorCode, str] = {
    ErrorCode.UNREADABLE_MESSAGE: "Unreadable message",
    ErrorCode.NOT_IN_PRIVATE_STATE: "Not in private state message",
    ErrorCode.MALFORMED_MESSAGE: "Malformed message",
}


@dataclass(frozen=True)
class QueryMessage:
    """A parsed query message: the offered version identifiers and the rest of the text."""

    versions: frozenset[str]
    text: str = ""

    @property
    def offers_v4(self) -> bool:
        """``True`` when version 4 is offered."""
        return "4" in self.versions


def encode_query(versions: Iterable[int | str], text: str = "") -> str:
    """Build ``?OTRv<ids>?`` followed by an optional explanatory ``text``.

    Identifiers are emitted in the order given, once each.  Raises
    :class:`InvalidQueryVersion` for an identifier that is not a single
    character other than ``?`` and :class:`DuplicateQueryVersion` for repeats.
    """
    ids: list[str] = []
    for v in versions:
        s = str(v)
        if len(s) != 1 or s == "?" or s.isspace():
            raise InvalidQueryVersion(f"version identifier {s!r} is not one character")
        if s in ids:
            raise DuplicateQueryVersion(f"version {s!r} listed twice")
        ids.append(s)
    query = QUERY_PREFIX + "".join(ids) + "?"
    return query + (" " + text if text else "")


def parse_query(message: str) -> QueryMessage | None:
    """Find a query message in ``message`` (spec §Query Messages).

    Returns ``None`` when there is none; raises :class:`DuplicateQueryVersion`
    when one lists a version twice.  The text around the query is returned in
    ``text`` (stripped).
    """
    start = message.find(QUERY_PREFIX)
    if start < 0:
        return None
    end = message.find("?", start + len(QUERY_PREFIX))
    if end < 0:
        return None
    ids = message[start + len(QUERY_PREFIX):end]
    if any(c.isspace() for c in ids):
        return None
    if len(set(ids)) != len(ids):
        raise DuplicateQueryVersion(f"query message lists a version twice: {ids!r}")
    rest = (message[:start] + message[end + 1:]).strip()
    return QueryMessage(frozenset(ids), rest)


@dataclass(frozen=True)
class WhitespaceTag:
    """The first whitespace tag of a plaintext message and the text without it."""

    versions: frozenset[int]
    text: str

    @property
    def offers_v4(self) -> bool:
        """``True`` when the tag announces version 4."""
        return 4 in self.versions


def whitespace_tag(versions: Iterable[int]) -> str:
    """The whitespace tag announcing ``versions`` (3 and/or 4), to append to a message.

    Raises :class:`InvalidQueryVersion` for a version without a tag.
    """
    parts = [WHITESPACE_BASE]
    for v in versions:
        if v not in WHITESPACE_VERSIONS:
            raise InvalidQueryVersion(f"no whitespace tag for version {v}")
        parts.append(WHITESPACE_VERSIONS[v])
    if len(parts) == 1:
        raise InvalidQueryVersion("a whitespace tag announces at least one version")
    return "".join(parts)


def find_whitespace_tag(message: str) -> WhitespaceTag | None:
    """Locate the first whitespace tag (spec §Whitespace Tags) and remove it.

    Returns ``None`` when ``message`` has no tag.  Never raises.
    """
    start = message.find(WHITESPACE_BASE)
    if start < 0:
        return None
    pos = start + len(WHITESPACE_BASE)
    found: set[int] = set()
    by_block = {block: v for v, block in WHITESPACE_VERSIONS.items()}
    while pos + 8 <= len(message):
        block = message[pos:pos + 8]
        if any(c not in " \t" for c in block):
            break
        if block in by_block:
            found.add(by_block[block])
        pos += 8
    return WhitespaceTag(frozenset(found), message[:start] + message[pos:])


@dataclass(frozen=True)
class ErrorMessage:
    """A received OTR error message: its code (when one is given and known) and text."""

    code: ErrorCode | None
    text: str


def encode_error(code: ErrorCode, text: str | None = None) -> str:
    """Build ``?OTR Error: ERROR_n: <text>`` (default text from the spec's table)."""
    return f"{ERROR_PREFIX} ERROR_{int(code)}: {text if text is not None else ERROR_TEXTS[code]}"


def parse_error(message: str) -> ErrorMessage | None:
    """Parse an OTR error message; ``None`` unless ``message`` starts with ``?OTR Error:``."""
    if not message.startswith(ERROR_PREFIX):
        return None
    rest = message[len(ERROR_PREFIX):].strip()
    if rest.startswith("ERROR_"):
        head, sep, tail = rest.partition(":")
        number = head[len("ERROR_"):]
        if sep and number.isdigit():
            try:
                return ErrorMessage(ErrorCode(int(number)), tail.strip())
            except ValueError:
                pass
    return ErrorMessage(None, rest)


class MessageKind(Enum):
    """What an incoming text is, in the order a receiver checks (spec §Receiving Fragments)."""

    FRAGMENT = "fragment"
    ENCODED = "encoded"
    ERROR = "error"
    QUERY = "query"
    WHITESPACE_TAGGED = "whitespace-tagged plaintext"
    PLAINTEXT = "plaintext"


def classify(message: str) -> MessageKind:
    """Say which kind of OTR text ``message`` is; fragments are recognised first.

    Never raises: a malformed query message classifies as QUERY and fails
    when parsed.
    """
    if message.startswith(FRAGMENT_PREFIX):
        return MessageKind.FRAGMENT
    if message.startswith(ENCODED_PREFIX):
        return MessageKind.ENCODED
    if message.startswith(ERROR_PREFIX):
        return MessageKind.ERROR
    if QUERY_PREFIX in message:
        return MessageKind.QUERY
    if WHITESPACE_BASE in message:
        return MessageKind.WHITESPACE_TAGGED
    return MessageKind.PLAINTEXT
