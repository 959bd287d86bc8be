"""Prekey messages, their secrets, Prekey Ensembles, and the prekey owner's local store.

Implements ``otrv4.md`` §Prekey Message (creation; the wire type is
:class:`otrv4.messages.PrekeyMessage`), §Publishing Prekey Ensembles,
§Validating Prekey Ensembles and §Receiving Prekey Ensembles.

* :func:`generate_prekey_message` makes one Prekey message and keeps its
  secrets (:class:`PrekeySecret`).
* :class:`PrekeyEnsemble` is what a prekey server hands out: one Client
  Profile, one Prekey Profile, one Prekey message.  :func:`validate_ensemble`
  applies the spec's checks in order; :func:`select_ensembles` drops invalid
  and duplicate ensembles and keeps one per instance tag.
* :class:`LocalPrekeys` is the owner's side: our profiles, the shared prekey
  secret and the unused one-time prekeys, as an immutable value
  (:meth:`LocalPrekeys.consume` returns a new one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from .clock import Clock
from .errors import ValidationError
from .instance_tag import check_sender_tag
from .messages import PrekeyMessage
from .modes import Capability, Mode, require
from .primitives.dh3072 import DHKeyPair, generate_dh
from .primitives.ecdh import ECDHKeyPair, generate_ecdh
from .primitives.eddsa import EdDSAKeyPair
from .primitives.rng import Rng
from .profiles import ClientProfile, PrekeyProfile

__all__ = [
    "EnsembleTagMismatchError",
    "LocalPrekeys",
    "PrekeyEnsemble",
    "PrekeySecret",
    "UnknownPrekeyError",
    "generate_prekey_message",
    "select_ensembles",
    "validate_ensemble",
]


class EnsembleTagMismatchError(ValidationError):
    """A Prekey Ensemble whose three parts do not share one instance tag."""


class UnknownPrekeyError(ValidationError):
    """A Non-Interactive-Auth message naming a Prekey message we do not have (or used)."""


@dataclass(frozen=True)
class PrekeySecret:
    """A Prekey message and its one-time secrets ``(y, Y)`` and ``(b, B)``."""

    identifier: int
    owner_tag: int
    ecdh: ECDHKeyPair = field(repr=False)
    dh: DHKeyPair = field(repr=False)

    @property
    def message(self) -> PrekeyMessage:
        """The public Prekey message to publish."""
        return PrekeyMessage(self.identifier, self.owner_tag, self.ecdh.public, self.dh.public)


def generate_prekey_message(
    rng: Rng, owner_tag: int, *, existing: Collection[int] = (), mode: Mode = Mode.STANDALONE
) -> PrekeySecret:
    """§Prekey Message: a random 4-byte identifier (drawn again while it is in
    ``existing``), then ``(y, Y)`` and ``(b, B)`` (three draws at least).

    Raises :class:`~otrv4.modes.PrekeyPublicationRefusedError` in interactive-only
    mode, :class:`~otrv4.instance_tag.InvalidSenderTagError` for an owner tag below 0x100.
    """
    require(mode, Capability.PREKEY_PUBLICATION)
    check_sender_tag(owner_tag)
    while True:
        identifier = int.from_bytes(rng.random_bytes(4), "big")
        if identifier not in existing:
            break
    return PrekeySecret(identifier, owner_tag, generate_ecdh(rng), generate_dh(rng))


@dataclass(frozen=True)
class PrekeyEnsemble:
    """A Client Profile, a Prekey Profile and a Prekey message, as retrieved together."""

    client_profile: ClientProfile
    prekey_profile: PrekeyProfile
    prekey_message: PrekeyMessage

    @property
    def instance_tag(self) -> int:
        """The owner's instance tag (the Client Profile's)."""
        return self.client_profile.owner_tag

    def encode(self) -> bytes:
        """The three wire encodings concatenated (the prekey server's order)."""
        return (
            self.client_profile.encode() + self.prekey_profile.encode()
            + self.prekey_message.encode()
        )


def validate_ensemble(
    ensemble: PrekeyEnsemble, clock: Clock, *, mode: Mode = Mode.STANDALONE
) -> None:
    """§Validating Prekey Ensembles, in the spec's order.

    * Step 1: one instance tag on all three values (:class:`EnsembleTagMismatchError`,
      after :class:`~otrv4.instance_tag.InvalidSenderTagError` for a tag below 0x100).
    * Step 2: the Client Profile is valid (the errors of
      :meth:`~otrv4.profiles.ClientProfile.validate`).
    * Steps 3-4: the Prekey Profile is valid and signed by the Client Profile's H
      (:meth:`~otrv4.profiles.PrekeyProfile.validate`).
    * Step 5: the Prekey message is valid (type, version, Y, B: enforced when decoding).
    * Steps 6-7: version 4 is in the Client Profile (checked in step 2) and supported by us.

    Raises :class:`~otrv4.modes.NonInteractiveDakeRefusedError` in interactive-only mode.
    """
    require(mode, Capability.NON_INTERACTIVE_DAKE)
    tag = ensemble.client_profile.owner_tag
    check_sender_tag(tag)
    if not ensemble.prekey_profile.owner_tag == ensemble.prekey_message.owner_tag == tag:
        raise EnsembleTagMismatchError(
            f"ensemble tags differ: client {tag:#010x}, prekey profile "
            f"{ensemble.prekey_profile.owner_tag:#010x}, prekey message "
            f"{ensemble.prekey_message.owner_tag:#010x}"
        )
    ensemble.client_profile.validate(tag, clock)
    ensemble.prekey_profile.validate(ensemble.client_profile.public_key, tag, clock)


def select_ensembles(
    ensembles: Iterable[PrekeyEnsemble], clock: Clock, *, mode: Mode = Mode.STANDALONE
) -> dict[int, PrekeyEnsemble]:
    """§Receiving Prekey Ensembles: keep one valid ensemble per instance tag.

    Invalid ensembles and exact duplicates are dropped.  Among several valid
    ensembles for one instance tag the one whose Client Profile expires last
    wins, then the one whose Prekey Profile expires last, then the first one
    received (a deterministic rule; the spec leaves the choice to the client).
    Returns ``{instance tag: ensemble}`` in ascending tag order.  Raises only
    :class:`~otrv4.modes.NonInteractiveDakeRefusedError` (interactive-only mode).
    """
    require(mode, Capability.NON_INTERACTIVE_DAKE)
    seen: set[bytes] = set()
    best: dict[int, PrekeyEnsemble] = {}
    for ensemble in ensembles:
        key = ensemble.encode()
        if key in seen:
            continue
        seen.add(key)
        try:
            validate_ensemble(ensemble, clock, mode=mode)
        except ValidationError:
            continue
        tag = ensemble.instance_tag
        current = best.get(tag)
        if current is None or (
            (ensemble.client_profile.expiration, ensemble.prekey_profile.expiration)
            > (current.client_profile.expiration, current.prekey_profile.expiration)
        ):
            best[tag] = ensemble
    return dict(sorted(best.items()))


@dataclass(frozen=True)
class LocalPrekeys:
    """The prekey owner's local material for the non-interactive DAKE.

    ``client_profiles`` are our Client Profiles still usable locally (current
    first; the spec lets an expired one be used for a grace period);
    ``prekey_profiles`` pair each of our Prekey Profiles with its shared prekey
    key pair ``(sym_d, sk_d, D)``; ``prekeys`` are the unused one-time prekeys.
    """

    client_profiles: tuple[ClientProfile, ...]
    prekey_profiles: tuple[tuple[PrekeyProfile, EdDSAKeyPair], ...]
    prekeys: tuple[PrekeySecret, ...] = ()

    def find(self, identifier: int) -> PrekeySecret:
        """The unused prekey with this identifier.  Raises :class:`UnknownPrekeyError`."""
        for prekey in self.prekeys:
            if prekey.identifier == identifier:
                return prekey
        raise UnknownPrekeyError(f"no unused prekey message {identifier:#010x}")

    def consume(self, identifier: int) -> LocalPrekeys:
        """A copy without the prekey ``identifier`` (one-time use).

        Raises :class:`UnknownPrekeyError`.
        """
        self.find(identifier)
        return LocalPrekeys(
            self.client_profiles, self.prekey_profiles,
            tuple(p for p in self.prekeys if p.identifier != identifier),
        )

    def with_prekeys(self, new: Iterable[PrekeySecret]) -> LocalPrekeys:
        """A copy with ``new`` prekeys added."""
        return LocalPrekeys(self.client_profiles, self.prekey_profiles, self.prekeys + tuple(new))
