"""Forging tools: deniability made executable (spec §Forging Transcripts, §Modify an Encrypted
Data Message).

Every tool uses the same functions as honest conversations:

* :func:`parse` - the fields of any OTRv4 message ("Parse").
* :func:`modify_data_message` - XOR a guessed plaintext into new text and re-MAC
  with the revealed MAC key ("Modify Data Message").
* :func:`read_and_forge` - decrypt with a chain key and optionally replace the
  plaintext ("Read and Forge Data Message").
* :func:`show_mac_key` and :func:`remac` ("Show MAC Key", "ReMAC Message").
* :func:`forge_entire_transcript` - a complete interactive DAKE and conversation
  between the forger and a peer, made from the forger's secret key and the peer's
  public Client Profile only ("Forge Entire Transcript", using "Impersonate
  Initiator": the peer's Auth-I ring signature is made with the forger's own
  ephemeral secret ``x``, a member of the ring ``{H_b, F_a, X}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from . import dake
from .data_message import DataMessage, compute_authenticator
from .encoding import MessageType, peek_message_type
from .errors import ValidationError
from .messages import AuthIMessage, AuthRMessage, IdentityMessage, decode_dake_message
from .primitives import cipher
from .primitives.dh3072 import generate_dh
from .primitives.ecdh import ECDHKeyPair, generate_ecdh
from .primitives.ed448 import Point
from .primitives.ring_signature import ring_sign
from .primitives.rng import RecordingRng, Rng
from .profiles import ClientProfile
from .ratchet import DoubleRatchet, RatchetStart, mac_key_of, message_keys, next_chain_key
from .shared_state import DakeResult
from .tlv import encode_payload

__all__ = [
    "ForgedTranscript",
    "ForgeryOutOfRange",
    "ForgeryTextMismatch",
    "forge_entire_transcript",
    "modify_data_message",
    "parse",
    "read_and_forge",
    "remac",
    "show_mac_key",
]


class ForgeryTextMismatch(ValidationError):
    """The old and new texts of a modification differ in length."""


class ForgeryOutOfRange(ValidationError):
    """The modification runs past the end of the encrypted message, or the chain key
    given is for a later message than the one to read."""


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Point):
        return value.encode().hex()
    if isinstance(value, int):
        return str(value)
    return repr(value)


def parse(data: bytes) -> list[tuple[str, str]]:
    """The fields of a binary OTRv4 message as ``(name, value)`` pairs ("Parse").

    Byte strings and points in hex, integers in decimal.  Raises the decoding
    errors of :class:`DataMessage` and of :func:`otrv4.messages.decode_dake_message`.
    """
    if peek_message_type(data) is MessageType.DATA:
        message: object = DataMessage.decode(data)
    else:
        message = decode_dake_message(data)
    return [(f.name, _show(getattr(message, f.name))) for f in fields(message)]  # type: ignore[arg-type]


def show_mac_key(mk_enc: bytes) -> bytes:
    """``MKmac = KDF(usage_MAC_key || MKenc, 64)`` ("Show MAC Key")."""
    return mac_key_of(mk_enc)


def remac(message: DataMessage, mac_key: bytes) -> DataMessage:
    """The message with a fresh authenticator under ``mac_key`` ("ReMAC Message")."""
    return replace(message,
                   authenticator=compute_authenticator(mac_key, message.authenticated_sections()))


def modify_data_message(message: DataMessage, mac_key: bytes, offset: int, old_text: bytes,
                        new_text: bytes) -> DataMessage:
    """Replace a guessed ``old_text`` at ``offset`` of the plaintext by ``new_text``
    (spec §Modify an Encrypted Data Message), then re-MAC with the revealed ``mac_key``.

    Raises :class:`ForgeryTextMismatch` when the texts differ in length and
    :class:`ForgeryOutOfRange` when they run past the ciphertext.
    """
    if len(old_text) != len(new_text):
        raise ForgeryTextMismatch("old and new text must have the same length")
    if offset < 0 or offset + len(old_text) > len(message.ciphertext):
        raise ForgeryOutOfRange("the text does not fit in the encrypted message")
    ct = bytearray(message.ciphertext)
    for n, (o, w) in enumerate(zip(old_text, new_text, strict=True)):
        ct[offset + n] ^= o ^ w
    return remac(replace(message, ciphertext=bytes(ct)), mac_key)


def read_and_forge(message: DataMessage, chain_key: bytes, chain_key_message_id: int,
                   new_plaintext: bytes | None = None) -> tuple[bytes, DataMessage]:
    """Decrypt ``message`` with a chain key of its chain and optionally replace its text.

    ``chain_key`` is the chain key of message ``chain_key_message_id`` of the same
    chain (at most the message's own id); it is advanced to the message.  Returns
    ``(plaintext, message)``, the message re-encrypted and re-MACed when
    ``new_plaintext`` is given.  Raises :class:`ForgeryOutOfRange`.
    """
    if chain_key_message_id > message.message_id:
        raise ForgeryOutOfRange("a chain key cannot be moved backwards")
    for _ in range(message.message_id - chain_key_message_id):
        chain_key = next_chain_key(chain_key)
    mk_enc, mk_mac = message_keys(chain_key)
    plaintext = cipher.decrypt_data_message(mk_enc, message.ciphertext)
    if new_plaintext is None:
        return plaintext, message
    forged = replace(message, ciphertext=cipher.encrypt_data_message(mk_enc, new_plaintext))
    return plaintext, remac(forged, mk_mac)


@dataclass(frozen=True)
class ForgedTranscript:
    """A forged interactive DAKE and conversation, and the forger's view of it."""

    identity: IdentityMessage
    auth_r: AuthRMessage
    auth_i: AuthIMessage
    data_messages: tuple[tuple[str, DataMessage], ...]
    forger_result: DakeResult


def forge_entire_transcript(
    forger: dake.DakeContext, peer_profile: ClientProfile, script: Sequence[tuple[str, str]],
    rng: Rng,
) -> ForgedTranscript:
    """"Forge Entire Transcript" for the interactive DAKE.

    ``forger`` is the forger's context (its long-term secret key, JIDs, clock);
    ``peer_profile`` the peer's public Client Profile; ``script`` a list of
    ``(sender, text)`` with sender ``"forger"`` or ``"peer"``.  The peer's
    Identity message uses keys the forger makes; the forger answers with its
    real DAKE code; the peer's Auth-I is signed with the forger's ephemeral
    ``x``; the forger's real code accepts it.  The data messages come from two
    ratchets started from that DAKE.  Raises what the DAKE functions raise.
    """
    peer_tag = peer_profile.owner_tag
    y, b = generate_ecdh(rng), generate_dh(rng)
    peer_ecdh_first, peer_dh_first = generate_ecdh(rng), generate_dh(rng)
    identity = IdentityMessage(peer_tag, forger.us.instance_tag, peer_profile, y.public,
                               b.public, peer_ecdh_first.public, peer_dh_first.public)
    recorder = RecordingRng(rng)
    answered = dake.receive_identity(forger, dake.START, identity, recorder)
    waiting = answered.state
    auth_r = answered.send
    if not isinstance(waiting, dake.WaitingAuthI) or not isinstance(auth_r, AuthRMessage):
        raise dake.UnexpectedMessageError("the forged Identity message was not answered")
    x = ECDHKeyPair.from_seed(recorder.draws[0].value)  # the first draw of the answer is x
    t_i = dake.auth_i_t(peer_profile, forger.us.client_profile, y.public, auth_r.x, b.public,
                        auth_r.a, waiting.phi)
    sigma = ring_sign(x.secret, (peer_profile.public_key, forger.us.forging_key, auth_r.x),
                      t_i, rng)
    auth_i = AuthIMessage(peer_tag, forger.us.instance_tag, sigma)
    done = dake.receive_auth_i(forger, waiting, auth_i)
    if done.result is None:  # pragma: no cover - receive_auth_i always returns one
        raise dake.UnexpectedMessageError("no ratchet state")
    ours = DoubleRatchet(RatchetStart.from_dake(done.result))
    theirs = DoubleRatchet(RatchetStart.interactive(
        done.result.dake_secret, sends_first=False, our_ecdh=peer_ecdh_first,
        their_ecdh=auth_r.ecdh_first, our_dh=peer_dh_first, their_dh=auth_r.dh_first,
        our_tag=peer_tag, their_tag=forger.us.instance_tag))
    out: list[tuple[str, DataMessage]] = []
    for sender, text in script:
        src, dst = (ours, theirs) if sender == "forger" else (theirs, ours)
        message = src.encrypt(encode_payload(text), rng).message
        dst.decrypt(message)
        out.append((sender, message))
    return ForgedTranscript(identity, auth_r, auth_i, tuple(out), done.result)
