"""The adapter protocol: one JSON object per line, over standard input and output.

The runner writes requests, one per line, and waits for the reply to each
before it writes the next::

    {"id": 7, "op": "kdf.Otrv4Kdf", "args": {"usageId": 4, "values": "…", "size": 8}}

The adapter answers on one line with the same ``id`` and exactly one of
``result`` (an object), ``error`` (the name of the error class of the rule
the input breaks, e.g. ``"DHValueNotInSubgroupError"``, with an optional
``message``), or ``unsupported`` (``true``: the adapter does not implement
the operation)::

    {"id": 7, "result": {"output": "…"}}
    {"id": 8, "error": "PointNotOnCurveError", "message": "x^2 has no square root"}
    {"id": 9, "unsupported": true}

Byte strings are lowercase hex, as in the vector files.  The first request is
``hello`` (the reply names the implementation and lists the levels it
claims); the last is ``bye``, after which the runner closes the adapter's
standard input and expects it to exit.  Anything the adapter writes to
standard error is kept for the report.

:class:`Reply` is a parsed answer; :func:`encode_request` and
:func:`decode_reply` are the two halves of the framing.  Bad framing raises a
:class:`ProtocolViolation` subclass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PROTOCOL_VERSION",
    "AdapterError",
    "AdapterExited",
    "AdapterTimeout",
    "Call",
    "GarbageReply",
    "ProtocolViolation",
    "Reply",
    "WrongReplyId",
    "decode_reply",
    "encode_request",
]

PROTOCOL_VERSION = 1
"""The version of the adapter protocol this runner speaks (sent in ``hello``)."""


class AdapterError(Exception):
    """Root of the errors of talking to an adapter process."""


class AdapterTimeout(AdapterError):
    """The adapter gave no reply before the call's deadline (the process is killed)."""


class AdapterExited(AdapterError):
    """The adapter process exited (or closed its standard output) before replying."""


class ProtocolViolation(AdapterError):
    """The adapter answered something that is not a reply of this protocol."""


class GarbageReply(ProtocolViolation):
    """A reply line that is not a JSON object, or has none of result/error/unsupported."""


class WrongReplyId(ProtocolViolation):
    """A reply whose ``id`` is not the id of the pending request."""


@dataclass(frozen=True)
class Reply:
    """One parsed reply: ``result`` when the operation succeeded, ``error`` (a class name)
    when the adapter rejected the input, ``unsupported`` when it does not implement it."""

    id: int
    result: dict[str, Any] | None = None
    error: str | None = None
    message: str = ""
    unsupported: bool = False
    raw: str = field(default="", compare=False)


def encode_request(request_id: int, op: str, args: dict[str, Any]) -> bytes:
    """One request line (UTF-8, ending in ``\\n``)."""
    line = json.dumps({"id": request_id, "op": op, "args": args}, separators=(",", ":"),
                      sort_keys=True)
    return line.encode("utf-8") + b"\n"


def _shorten(line: str, limit: int = 120) -> str:
    return line if len(line) <= limit else line[:limit] + "…"


def decode_reply(line: str, expected_id: int) -> Reply:
    """Parse a reply line for request ``expected_id``.

    Raises :class:`GarbageReply` for anything but a JSON object with exactly one
    of ``result`` (an object), ``error`` (a string) or ``unsupported: true``,
    and :class:`WrongReplyId` when its ``id`` differs.
    """
    try:
        data = json.loads(line)
    except ValueError:
        raise GarbageReply(f"not JSON: {_shorten(line)!r}") from None
    if not isinstance(data, dict):
        raise GarbageReply(f"not a JSON object: {_shorten(line)!r}")
    if data.get("id") != expected_id:
        raise WrongReplyId(f"reply id {data.get('id')!r}, expected {expected_id}")
    kinds = [k for k in ("result", "error", "unsupported") if k in data]
    if len(kinds) != 1:
        raise GarbageReply(f"a reply has exactly one of result/error/unsupported: "
                           f"{_shorten(line)!r}")
    if "result" in data:
        if not isinstance(data["result"], dict):
            raise GarbageReply(f"result is not an object: {_shorten(line)!r}")
        return Reply(expected_id, result=data["result"], raw=line)
    if "error" in data:
        if not isinstance(data["error"], str) or not data["error"]:
            raise GarbageReply(f"error is not a class name: {_shorten(line)!r}")
        message = data.get("message", "")
        return Reply(expected_id, error=data["error"],
                     message=message if isinstance(message, str) else str(message), raw=line)
    if data["unsupported"] is not True:
        raise GarbageReply(f"unsupported must be true: {_shorten(line)!r}")
    return Reply(expected_id, unsupported=True, raw=line)


Call = Callable[[str, dict[str, Any]], Reply]
"""Sends one request (operation, arguments) to the adapter and returns its reply; raises
:class:`AdapterError`."""
