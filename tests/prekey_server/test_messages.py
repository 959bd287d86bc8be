"""Every prekey-server message round-trips, and every broken field fails with its class."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.encoding import TrailingDataError, TruncatedError, UnsupportedVersionError
from otrv4.errors import OTRError
from otrv4.primitives.ed448 import InvalidPointError
from otrv4.primitives.keytypes import PublicKeyTypeError
from otrv4.primitives.ring_signature import RingSignatureLengthError
from otrv4_prekey.messages import (
    MESSAGE_CLASSES,
    NO_PREKEY_MESSAGES_TEXT,
    Dake3,
    EmptyRetrievalError,
    EnsembleQuery,
    EnsembleRetrieval,
    IdentityEncodingError,
    InvalidFlagError,
    InvalidPrekeyServerBase64Error,
    NoPrekeyEnsembles,
    NotAPrekeyServerEncodingError,
    PrekeyPublication,
    PrekeyServerMessageType,
    ProofsMismatchError,
    UnknownPrekeyServerMessageTypeError,
    WrongPrekeyServerMessageTypeError,
    decode_message,
    decode_text,
    encode_text,
)

from .conftest import World

ALL = ["dake1", "dake2", "dake3", "publication", "storage_request", "storage_status", "success",
       "failure", "query", "retrieval", "no_ensembles", "publication_prekeys_only",
       "publication_empty"]


@pytest.mark.parametrize("name", ALL)
def test_round_trip(world: World, name: str) -> None:
    msg = world.messages[name]
    data = msg.encode()
    assert data[:2] == b"\x00\x04"
    assert data[2] == msg.MESSAGE_TYPE
    again = type(msg).decode(data)
    assert again == msg
    assert again.encode() == data
    assert decode_message(data) == msg
    text = msg.to_text()
    assert text.startswith(msg.MESSAGE_TYPE.base64_prefix) and text.endswith(".")
    assert decode_text(text) == data


def test_type_table_matches_the_specification() -> None:
    assert {t.name: int(t) for t in PrekeyServerMessageType} == {
        "FAILURE": 0x05, "SUCCESS": 0x06, "PREKEY_PUBLICATION": 0x08,
        "STORAGE_INFORMATION_REQUEST": 0x09, "STORAGE_STATUS": 0x0B,
        "NO_PREKEY_ENSEMBLES": 0x0E, "ENSEMBLE_QUERY": 0x10, "ENSEMBLE_RETRIEVAL": 0x13,
        "DAKE_1": 0x35, "DAKE_2": 0x36, "DAKE_3": 0x37,
    }
    prefixes = {t: t.base64_prefix for t in PrekeyServerMessageType}
    assert prefixes[PrekeyServerMessageType.DAKE_1] == "AAQ1"
    assert prefixes[PrekeyServerMessageType.SUCCESS] == "AAQG"
    assert prefixes[PrekeyServerMessageType.ENSEMBLE_RETRIEVAL] == "AAQT"
    assert prefixes[PrekeyServerMessageType.NO_PREKEY_ENSEMBLES] == "AAQO"
    assert set(MESSAGE_CLASSES) == set(PrekeyServerMessageType)


def test_exact_layouts(world: World) -> None:
    tag = world.juliet.tag.to_bytes(4, "big")
    success = world.messages["success"].encode()
    assert success == b"\x00\x04\x06" + tag + world.messages["success"].mac  # type: ignore[attr-defined]
    status = world.messages["storage_status"].encode()
    assert status[:11] == b"\x00\x04\x0b" + tag + b"\x00\x00\x00\x07"
    assert len(status) == 11 + 64
    none = NoPrekeyEnsembles(0x100, "a@b").encode()
    text = NO_PREKEY_MESSAGES_TEXT.encode()
    assert none == (b"\x00\x04\x0e\x00\x00\x01\x00\x00\x00\x00\x03a@b"
                    + len(text).to_bytes(4, "big") + text)
    q = EnsembleQuery(0x101, "b@c", b"45").encode()
    assert q == b"\x00\x04\x10\x00\x00\x01\x01\x00\x00\x00\x03b@c\x00\x00\x00\x0245"
    pub = world.publication.encode()
    assert pub[:4] == b"\x00\x04\x08\x03"  # version, type, N = 3
    assert pub[-64:] == world.publication.mac
    empty = world.messages["publication_empty"].encode()
    assert empty[:6] == b"\x00\x04\x08\x00\x00\x00"  # N = 0, K = 0, J = 0
    assert len(empty) == 6 + 64


@pytest.mark.parametrize("name", ALL)
def test_every_truncation_is_refused(world: World, name: str) -> None:
    data = world.messages[name].encode()
    cls = type(world.messages[name])
    step = max(1, len(data) // 40)
    for cut in range(0, len(data), step):
        with pytest.raises(TruncatedError):
            cls.decode(data[:cut])


@pytest.mark.parametrize("name", ALL)
def test_trailing_bytes_are_refused(world: World, name: str) -> None:
    msg = world.messages[name]
    with pytest.raises(TrailingDataError):
        type(msg).decode(msg.encode() + b"\x00")


@pytest.mark.parametrize("name", ALL)
def test_version_and_type_are_checked(world: World, name: str) -> None:
    msg = world.messages[name]
    data = msg.encode()
    for version in (b"\x00\x03", b"\x00\x05", b"\x04\x00"):
        with pytest.raises(UnsupportedVersionError):
            type(msg).decode(version + data[2:])
    with pytest.raises(UnknownPrekeyServerMessageTypeError):
        type(msg).decode(data[:2] + b"\x0f" + data[3:])  # an OTRv4 Prekey message type
    other = 0x06 if msg.MESSAGE_TYPE != 0x06 else 0x05
    with pytest.raises(WrongPrekeyServerMessageTypeError):
        type(msg).decode(data[:2] + bytes([other]) + data[3:])


def test_flags_must_be_zero_or_one(world: World) -> None:
    data = world.messages["publication_empty"].encode()
    with pytest.raises(InvalidFlagError):
        PrekeyPublication.decode(data[:4] + b"\x02" + data[5:])  # K
    with pytest.raises(InvalidFlagError):
        PrekeyPublication.decode(data[:5] + b"\x02" + data[6:])  # J


def test_n_must_match_the_prekey_messages(world: World) -> None:
    data = world.publication.encode()
    # N = 4 but three follow: the fourth "prekey message" starts at K = 01 and the
    # Client Profile's field count, read as version 0x0100
    with pytest.raises(UnsupportedVersionError):
        PrekeyPublication.decode(data[:3] + b"\x04" + data[4:])
    # N = 2: the third prekey message's version 00 04 is read as K = 0, J = 4
    with pytest.raises(InvalidFlagError):
        PrekeyPublication.decode(data[:3] + b"\x02" + data[4:])


def test_inconsistent_publications_cannot_be_built(world: World) -> None:
    pub = world.publication
    with pytest.raises(ProofsMismatchError):
        PrekeyPublication(pub.prekey_messages, None, None, None, pub.dh_proof, None, pub.mac)
    with pytest.raises(ProofsMismatchError):
        PrekeyPublication(pub.prekey_messages, None, pub.prekey_profile, pub.ecdh_proof,
                          pub.dh_proof, None, pub.mac)


def test_retrieval_needs_at_least_one_ensemble(world: World) -> None:
    data = world.retrieval.encode()
    ident = len(world.retrieval.identity.encode())
    at = 3 + 4 + 4 + ident
    assert data[at:at + 4] == b"\x00\x00\x00\x01"
    with pytest.raises(EmptyRetrievalError):
        EnsembleRetrieval.decode(data[:at] + b"\x00\x00\x00\x00" + data[at + 4:])
    with pytest.raises(ValueError, match="at least one"):
        EnsembleRetrieval(1, "x", ()).encode()


def test_identities_must_be_utf8() -> None:
    data = EnsembleQuery(0x100, "ab").encode()
    with pytest.raises(IdentityEncodingError):
        EnsembleQuery.decode(data[:11] + b"\xff\xfe" + data[13:])


def test_points_and_keys_are_validated(world: World) -> None:
    dake1 = world.dake1.encode()
    bad_i = dake1[:-57] + b"\x02" + b"\x00" * 56  # y = 2 is not on the curve
    from otrv4_prekey.messages import Dake1, Dake2
    with pytest.raises(InvalidPointError):
        Dake1.decode(bad_i)
    dake2 = world.dake2.encode()
    ident = len(world.dake2.composite_identity.identity.encode())
    key_at = 3 + 4 + 4 + ident
    assert dake2[key_at:key_at + 2] == b"\x00\x10"
    with pytest.raises(PublicKeyTypeError):
        Dake2.decode(dake2[:key_at] + b"\x00\x11" + dake2[key_at + 2:])
    s_at = key_at + 59
    with pytest.raises(InvalidPointError):
        Dake2.decode(dake2[:s_at] + b"\x02" + b"\x00" * 56 + dake2[s_at + 57:])


def test_ring_signature_length_inside_dake3(world: World) -> None:
    inner = world.dake3.message
    short = b"\x00\x04\x37" + world.dake3.sender_tag.to_bytes(4, "big") + b"\x00" * 100
    with pytest.raises(TruncatedError):
        Dake3.decode(short)
    assert Dake3.decode(world.dake3.encode()).message == inner
    with pytest.raises(RingSignatureLengthError):
        from otrv4.primitives.ring_signature import RingSignature
        RingSignature.decode(b"\x00" * 341)


def test_dake3_carries_only_publication_or_status_request(world: World) -> None:
    assert world.dake3.decode_inner() == world.publication
    bad = Dake3(world.dake3.sender_tag, world.dake3.sigma, world.messages["success"].encode())
    with pytest.raises(WrongPrekeyServerMessageTypeError):
        bad.decode_inner()


def test_text_encoding_is_canonical(world: World) -> None:
    data = world.messages["success"].encode()
    text = encode_text(data)
    assert text == base64.b64encode(data).decode() + "."
    with pytest.raises(NotAPrekeyServerEncodingError):
        decode_text(text[:-1])
    with pytest.raises(NotAPrekeyServerEncodingError):
        decode_text(".")
    with pytest.raises(InvalidPrekeyServerBase64Error):
        decode_text("?OTR:" + text)
    with pytest.raises(InvalidPrekeyServerBase64Error):
        decode_text(text[:-2] + " " + ".")
    body = base64.b64encode(b"\x00\x04\x06").decode()  # "AAQG"
    with pytest.raises(InvalidPrekeyServerBase64Error):
        decode_text("AAR=.")  # 00 04 with non-zero padding bits: not canonical
    assert decode_text(body + ".") == b"\x00\x04\x06"
    assert decode_text("AAQ=.") == b"\x00\x04"


# --------------------------------------------------------------------------- fuzzing

@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_fail_only_with_decoding_errors(data: bytes) -> None:
    try:
        decoded = decode_message(data)
    except OTRError:
        return
    assert decoded.encode() == data


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(ALL), st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_mutated_messages_fail_only_with_protocol_errors(world: World, name: str, where: int,
                                                         xor: int) -> None:
    """Flipping any byte of any message gives another valid message or an OTRError, never
    another exception (no IndexError, no ValueError from a codec)."""
    data = bytearray(world.messages[name].encode())
    data[where % len(data)] ^= xor
    try:
        decoded = decode_message(bytes(data))
    except OTRError:
        return
    again = decoded.encode()
    if again != bytes(data):
        # a proof's SCALAR at or above q is read reduced mod q (otrv4.md §Scalar, as
        # otrv4.primitives.ed448.decode_scalar documents): the message re-encodes in
        # canonical form, which decodes to the same message
        assert decode_message(again) == decoded


def test_a_scalar_above_q_reads_as_its_reduction(world: World) -> None:
    """The case hypothesis found: one bit of a proof's V flipped makes it exceed q."""
    data = bytearray(world.messages["publication_prekeys_only"].encode())
    data[3099 % len(data)] ^= 1
    decoded = decode_message(bytes(data))
    again = decoded.encode()
    assert again != bytes(data) and decode_message(again) == decoded


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.text(max_size=40),
       st.binary(max_size=10))
def test_queries_round_trip(tag: int, identity: str, versions: bytes) -> None:
    q = EnsembleQuery(tag, identity, versions)
    assert EnsembleQuery.decode(q.encode()) == q
    n = NoPrekeyEnsembles(tag, identity, identity[::-1])
    assert NoPrekeyEnsembles.decode(n.encode()) == n
