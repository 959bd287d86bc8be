"""Fragmentation and reassembly of encoded OTRv4 messages (spec §Fragmentation).

A fragment is the text ``?OTR|<id>|<sender>|<receiver>,<index>,<total>,<piece>,``
with ``id``, the instance tags in hexadecimal and ``index``/``total`` in decimal
(1 <= index <= total <= 65535; leading zeros allowed).  We emit ``id`` and
the tags as 8 hex digits and ``index``/``total`` as 5 digits, so every fragment
has the same 45-character overhead.

:class:`Reassembler` keeps the partial messages of ONE peer.  Fragments may
arrive in any order.  Its memory is bounded by :class:`FragmentLimits`: at most
``max_open`` partial messages, ``max_pieces`` stored pieces and ``max_chars``
stored characters in all, whatever the peer sends; a partial message older than
``ttl_seconds`` is dropped.  When a new partial message does not fit, the oldest
ones are evicted (a flood pushes out stale buffers rather than blocking new
ones).  With the defaults the stored text is at most 1 MiB characters plus the
bookkeeping of at most 4096 pieces and 32 buffers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .clock import Clock
from .errors import DecodeError, ValidationError
from .primitives.rng import Rng

__all__ = [
    "FRAGMENT_OVERHEAD",
    "DuplicateFragment",
    "Fragment",
    "FragmentForOtherInstance",
    "FragmentIndexError",
    "FragmentLimits",
    "FragmentMessageTooLarge",
    "FragmentTooSmall",
    "FragmentTotalMismatch",
    "FragmentTotalTooLarge",
    "MalformedFragment",
    "NotFragmentable",
    "OTRv3Fragment",
    "Reassembler",
    "fragment_message",
    "parse_fragment",
]

FRAGMENT_OVERHEAD = len("?OTR|00000000|00000000|00000000,00001,00001,,")
MAX_INDEX = 0xFFFF

_V4 = re.compile(
    r"\?OTR\|([0-9A-Fa-f]{1,16})\|([0-9A-Fa-f]{1,16})\|([0-9A-Fa-f]{1,16}),"
    r"([0-9]{1,10}),([0-9]{1,10}),([^,]*),\Z",
    re.DOTALL,
)
_V3 = re.compile(r"\?OTR\|[0-9A-Fa-f]{1,16}\|[0-9A-Fa-f]{1,16},[0-9]{1,10},[0-9]{1,10},")


class MalformedFragment(DecodeError):
    """Text that starts with ``?OTR|`` but does not follow the fragment format."""


class OTRv3Fragment(DecodeError):
    """A fragment in the OTRv3 format (no identifier); this engine speaks OTRv4 only."""


class FragmentIndexError(ValidationError):
    """``index`` is 0, ``total`` is 0, ``index`` > ``total``, or either exceeds 65535."""


class FragmentForOtherInstance(ValidationError):
    """The receiver instance tag is neither ours nor zero; the fragment is discarded."""


class DuplicateFragment(ValidationError):
    """The slot for this index of this message is already filled."""


class FragmentTotalMismatch(ValidationError):
    """A fragment disagrees with its message's ``total``; the partial message is dropped."""


class FragmentTotalTooLarge(ValidationError):
    """``total`` exceeds the receiver's ``max_pieces`` limit."""


class FragmentMessageTooLarge(ValidationError):
    """A partial message grew beyond ``max_chars``; it is dropped."""


class NotFragmentable(ValidationError):
    """A fragment cannot itself be fragmented, and neither can an empty message."""


class FragmentTooSmall(ValidationError):
    """The maximum fragment size leaves no room for a piece, or needs more than 65535 pieces."""


@dataclass(frozen=True)
class Fragment:
    """One parsed OTRv4 fragment."""

    identifier: int
    sender_tag: int
    receiver_tag: int
    index: int
    total: int
    piece: str

    def encode(self) -> str:
        """The fragment text, with fixed-width fields."""
        return (
            f"?OTR|{self.identifier:08x}|{self.sender_tag:08x}|{self.receiver_tag:08x},"
            f"{self.index:05d},{self.total:05d},{self.piece},"
        )


def parse_fragment(text: str) -> Fragment:
    """Parse one fragment (spec §Receiving Fragments, first three steps).

    Raises :class:`OTRv3Fragment`, :class:`MalformedFragment` (format, empty
    piece, identifier or tag over 32 bits) and :class:`FragmentIndexError`.
    """
    m = _V4.match(text)
    if m is None:
        if _V3.match(text):
            raise OTRv3Fragment("OTRv3 fragment (no identifier); OTRv3 is not supported")
        raise MalformedFragment("not an OTRv4 fragment: ?OTR|id|sender|receiver,i,n,piece,")
    ident, sender, receiver = (int(g, 16) for g in m.group(1, 2, 3))
    index, total = int(m.group(4)), int(m.group(5))
    piece = m.group(6)
    if max(ident, sender, receiver) > 0xFFFFFFFF:
        raise MalformedFragment("identifier and instance tags are 32-bit values")
    if not piece:
        raise MalformedFragment("a fragment's piece must not be empty")
    if index == 0 or total == 0 or index > total or total > MAX_INDEX:
        raise FragmentIndexError(f"fragment {index} of {total} is out of range")
    return Fragment(ident, sender, receiver, index, total, piece)


def fragment_message(
    message: str, max_size: int, sender_tag: int, receiver_tag: int, rng: Rng
) -> list[str]:
    """Split an encoded message into fragments of at most ``max_size`` characters.

    Implements spec §Transmitting Fragments; the identifier is 4 bytes from
    ``rng``.  A message that fits is returned unchanged as a one-element list
    (no randomness drawn).  Raises :class:`NotFragmentable` for a fragment or
    an empty message and :class:`FragmentTooSmall` when ``max_size`` leaves no
    room or would need more than 65535 pieces.
    """
    if message.startswith("?OTR|"):
        raise NotFragmentable("fragments are not fragmented again")
    if not message:
        raise NotFragmentable("an empty message has no pieces")
    if len(message) <= max_size:
        return [message]
    room = max_size - FRAGMENT_OVERHEAD
    if room < 1:
        raise FragmentTooSmall(f"max_size {max_size} leaves no room for a piece")
    total = -(-len(message) // room)
    if total > MAX_INDEX:
        raise FragmentTooSmall(f"{total} pieces exceed 65535")
    ident = int.from_bytes(rng.random_bytes(4), "big")
    return [
        Fragment(ident, sender_tag, receiver_tag, n + 1, total,
                 message[n * room:(n + 1) * room]).encode()
        for n in range(total)
    ]


@dataclass(frozen=True)
class FragmentLimits:
    """Bounds on what one peer can make a :class:`Reassembler` store."""

    max_open: int = 32
    max_pieces: int = 4096
    max_chars: int = 1 << 20
    ttl_seconds: int = 600

    def __post_init__(self) -> None:
        if min(self.max_open, self.max_pieces, self.max_chars, self.ttl_seconds) < 1:
            raise ValueError("fragment limits must be positive")


@dataclass
class _Buffer:
    total: int
    created: int
    pieces: dict[int, str] = field(default_factory=dict)
    chars: int = 0


class Reassembler:
    """Reassembles the fragments one peer sends to instance ``our_tag`` (spec §Receiving Fragments).

    Each call to :meth:`receive` either returns the whole message (when the
    fragment completes it), returns ``None`` (stored, waiting for more), or
    raises; a rejected fragment changes nothing, except that a fragment whose
    ``total`` contradicts its buffer makes the buffer be dropped, as the
    specification requires, and so does one that makes its buffer exceed
    ``max_chars`` (the message could never be reassembled).
    """

    def __init__(self, our_tag: int, clock: Clock, limits: FragmentLimits | None = None) -> None:
        self.our_tag = our_tag
        self.clock = clock
        self.limits = limits or FragmentLimits()
        self._buffers: dict[tuple[int, int], _Buffer] = {}
        self._pieces = 0
        self._chars = 0
        self.evicted = 0

    def _drop(self, key: tuple[int, int]) -> None:
        buf = self._buffers.pop(key)
        self._pieces -= len(buf.pieces)
        self._chars -= buf.chars

    @property
    def open_messages(self) -> int:
        """Number of partial messages held."""
        return len(self._buffers)

    @property
    def stored_pieces(self) -> int:
        """Number of pieces held in all partial messages."""
        return self._pieces

    @property
    def stored_chars(self) -> int:
        """Characters held in all partial messages."""
        return self._chars

    def expire(self) -> int:
        """Drop partial messages older than ``ttl_seconds``; returns how many were dropped."""
        now = self.clock.now()
        old = [k for k, b in self._buffers.items() if now - b.created >= self.limits.ttl_seconds]
        for k in old:
            self._drop(k)
        return len(old)

    def _evict_for(self, key: tuple[int, int], pieces: int, chars: int) -> None:
        """Evict the oldest other buffers until one more piece of ``chars`` fits."""
        lim = self.limits
        while True:
            fits = (
                self.stored_pieces + pieces <= lim.max_pieces
                and self.stored_chars + chars <= lim.max_chars
                and (key in self._buffers or len(self._buffers) < lim.max_open)
            )
            if fits:
                return
            victim = next((k for k in self._buffers if k != key), None)
            if victim is None:
                return
            self._drop(victim)
            self.evicted += 1

    def receive(self, text: str) -> str | None:
        """Take one fragment; return the reassembled message when it is complete.

        Raises the errors of :func:`parse_fragment`, and
        :class:`FragmentForOtherInstance`, :class:`FragmentTotalTooLarge`,
        :class:`DuplicateFragment`, :class:`FragmentTotalMismatch`,
        :class:`FragmentMessageTooLarge`.
        """
        frag = parse_fragment(text)
        if frag.receiver_tag not in (0, self.our_tag):
            raise FragmentForOtherInstance(
                f"fragment for instance {frag.receiver_tag:08x}, we are {self.our_tag:08x}"
            )
        if frag.total > self.limits.max_pieces:
            raise FragmentTotalTooLarge(
                f"total {frag.total} exceeds the limit of {self.limits.max_pieces} pieces"
            )
        if len(frag.piece) > self.limits.max_chars:
            raise FragmentMessageTooLarge("a single piece exceeds the reassembly limit")
        self.expire()
        key = (frag.sender_tag, frag.identifier)
        buf = self._buffers.get(key)
        if buf is not None:
            if buf.total != frag.total:
                self._drop(key)
                raise FragmentTotalMismatch(
                    f"fragment says total {frag.total}, its message has {buf.total}"
                )
            if frag.index in buf.pieces:
                raise DuplicateFragment(f"piece {frag.index} of {frag.total} already received")
            if buf.chars + len(frag.piece) > self.limits.max_chars:
                self._drop(key)
                raise FragmentMessageTooLarge("partial message exceeds the reassembly limit")
        if frag.total == 1:
            return frag.piece
        self._evict_for(key, 1, len(frag.piece))
        if buf is None:
            buf = _Buffer(frag.total, self.clock.now())
            self._buffers[key] = buf
        buf.pieces[frag.index] = frag.piece
        buf.chars += len(frag.piece)
        self._pieces += 1
        self._chars += len(frag.piece)
        if len(buf.pieces) < buf.total:
            return None
        self._drop(key)
        return "".join(buf.pieces[i] for i in range(1, buf.total + 1))
