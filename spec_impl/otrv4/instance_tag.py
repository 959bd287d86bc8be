"""Instance tags (``otrv4.md`` §Instance Tags).

An instance tag is a 4-byte value naming one client (device) of an account; it
is persistent, and every OTRv4 message carries the sender's and the intended
receiver's tag.  The rules implemented here:

* the smallest valid tag is ``0x00000100``; a received sender tag below it is
  refused (:class:`InvalidSenderTagError`);
* a receiver tag of ``0`` means "not known yet" and is acceptable only where
  the caller allows it (the Identity message); a receiver tag in
  ``1..0xFF`` is refused (:class:`InvalidReceiverTagError`);
* a valid receiver tag that is not ours means the message is for another
  device: :class:`ReceiverTagMismatchError`.
"""

from __future__ import annotations

from .errors import ValidationError
from .primitives.rng import Rng

__all__ = [
    "MAX_INSTANCE_TAG",
    "MIN_INSTANCE_TAG",
    "UNKNOWN_RECEIVER",
    "InvalidReceiverTagError",
    "InvalidSenderTagError",
    "ReceiverTagMismatchError",
    "check_receiver_tag",
    "check_sender_tag",
    "format_instance_tag",
    "generate_instance_tag",
    "is_valid_instance_tag",
]

MIN_INSTANCE_TAG = 0x0000_0100
"""The smallest valid instance tag (§Instance Tags)."""

MAX_INSTANCE_TAG = 0xFFFF_FFFF
"""Instance tags are 4-byte unsigned values."""

UNKNOWN_RECEIVER = 0
"""The receiver tag a sender uses when it does not know the receiver's tag yet."""


class InvalidSenderTagError(ValidationError):
    """A message whose sender instance tag is below 0x00000100."""


class InvalidReceiverTagError(ValidationError):
    """A receiver instance tag in 1..0xFF, or 0 where the message type requires a known tag."""


class ReceiverTagMismatchError(ValidationError):
    """A message addressed to another instance (its receiver tag is not ours)."""


def is_valid_instance_tag(tag: int) -> bool:
    """Whether ``tag`` may name a client instance (``0x100 <= tag <= 0xFFFFFFFF``)."""
    return MIN_INSTANCE_TAG <= tag <= MAX_INSTANCE_TAG


def generate_instance_tag(rng: Rng) -> int:
    """A fresh random instance tag (§Instance Tags): 4 random bytes, big-endian.

    Draws again while the value is below 0x100 (probability 2^-24 per draw).
    """
    while True:
        tag = int.from_bytes(rng.random_bytes(4), "big")
        if is_valid_instance_tag(tag):
            return tag


def check_sender_tag(tag: int) -> None:
    """§Instance Tags: discard a message whose sender tag is below 0x100.

    Raises :class:`InvalidSenderTagError`.
    """
    if not is_valid_instance_tag(tag):
        raise InvalidSenderTagError(f"sender instance tag {tag:#010x} is below 0x00000100")


def check_receiver_tag(tag: int, ours: int, *, allow_unknown: bool = False) -> None:
    """§Instance Tags: accept a receiver tag only if it names us.

    ``allow_unknown`` admits the tag 0 (an Identity message sent before the
    sender learnt our tag).  Raises :class:`InvalidReceiverTagError` for
    1..0xFF (and for 0 unless allowed), :class:`ReceiverTagMismatchError` for
    a valid tag that is not ``ours``.
    """
    if tag == UNKNOWN_RECEIVER:
        if allow_unknown:
            return
        raise InvalidReceiverTagError("receiver instance tag 0 where our tag is required")
    if not is_valid_instance_tag(tag):
        raise InvalidReceiverTagError(f"receiver instance tag {tag:#010x} is below 0x00000100")
    if tag != ours:
        raise ReceiverTagMismatchError(f"message for instance {tag:#010x}, we are {ours:#010x}")


def format_instance_tag(tag: int) -> str:
    """The conventional display form, eight hex digits (e.g. ``0x00000100``)."""
    return f"{tag:#010x}"
