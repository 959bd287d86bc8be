"""The Data Message wire type (spec §Data Message Format; decision 3)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.data_message import (
    DataMessage,
    RevealedMacKeysLengthError,
    UnknownFlagsError,
    compute_authenticator,
    verify_authenticator,
)
from otrv4.encoding import (
    NonMinimalMPIError,
    TrailingDataError,
    TruncatedError,
    UnsupportedVersionError,
    WrongMessageTypeError,
)
from otrv4.errors import OTRError
from otrv4.primitives.cipher import encrypt_data_message

from ..helpers.vectors import raises_exactly, vector_cases

SAMPLE = DataMessage(
    sender_tag=0x11111111, receiver_tag=0x22222222, flags=1, previous_chain_length=3,
    ratchet_id=4, message_id=5, ecdh_public=bytes(range(57)), dh_public=0x0102,
    ciphertext=b"secret", authenticator=b"\xaa" * 64, revealed_mac_keys=b"\xbb" * 128,
)


def test_exact_layout() -> None:
    expected = bytes.fromhex(
        "0004" "03" "11111111" "22222222" "01" "00000003" "00000004" "00000005"
    ) + bytes(range(57)) + bytes.fromhex("00000002" "0102" "00000006") + b"secret"
    assert SAMPLE.authenticated_sections() == expected
    assert SAMPLE.encode() == expected + b"\xaa" * 64 + bytes.fromhex("00000080") + b"\xbb" * 128
    assert DataMessage.decode(SAMPLE.encode()) == SAMPLE
    no_dh = replace(SAMPLE, dh_public=None, revealed_mac_keys=b"")
    assert b"\x00\x00\x00\x00" + b"\x00\x00\x00\x06secret" in no_dh.encode()
    assert DataMessage.decode(no_dh.encode()) == no_dh
    assert SAMPLE.ignore_unreadable and SAMPLE.mac_keys == (b"\xbb" * 64, b"\xbb" * 64)


def test_authenticator_is_hcmac_0x18() -> None:
    mac_key = b"\x07" * 64
    sections = SAMPLE.authenticated_sections()
    tag = compute_authenticator(mac_key, sections)
    assert tag == hashlib.shake_256(b"OTRv4\x18" + mac_key + sections).digest(64)
    signed = replace(SAMPLE, authenticator=tag)
    assert verify_authenticator(mac_key, signed)
    assert verify_authenticator(mac_key, replace(signed, revealed_mac_keys=b""))  # not covered
    assert not verify_authenticator(mac_key, replace(signed, message_id=6))
    assert not verify_authenticator(b"\x08" * 64, signed)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (SAMPLE.encode()[:-1], TruncatedError),
        (SAMPLE.encode() + b"\x00", TrailingDataError),
        (b"\x00\x03" + SAMPLE.encode()[2:], UnsupportedVersionError),
        (b"\x00\x04\x35" + SAMPLE.encode()[3:], WrongMessageTypeError),
        (SAMPLE.encode()[:11] + b"\x02" + SAMPLE.encode()[12:], UnknownFlagsError),
        (replace(SAMPLE, revealed_mac_keys=b"\x01" * 63).encode(), RevealedMacKeysLengthError),
        (SAMPLE.encode().replace(bytes.fromhex("000000020102"), bytes.fromhex("00000003000102")),
         NonMinimalMPIError),
    ],
)
def test_decode_rejects(data: bytes, error: type[OTRError]) -> None:
    with pytest.raises(error):
        DataMessage.decode(data)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.sampled_from([0, 1]),
    st.integers(0, 2**32 - 1), st.binary(min_size=57, max_size=57),
    st.one_of(st.none(), st.integers(1, 2**3072)), st.binary(max_size=100),
    st.integers(0, 3),
)
def test_round_trip(tag: int, pn: int, flags: int, rid: int, ecdh: bytes, dh: int | None,
                    ct: bytes, reveal: int) -> None:
    m = DataMessage(tag, tag ^ 1, flags, pn, rid, pn ^ rid, ecdh, dh, ct, bytes(64),
                    b"\x05" * (64 * reveal))
    assert DataMessage.decode(m.encode()) == m


def test_vectors_reproduce() -> None:
    kinds = set()
    for group, test in vector_cases("data-message"):
        kind, inp, out = group["type"], test["inputs"], test["outputs"]
        kinds.add(kind)
        if kind == "DataMessageEncoding":
            hx: dict[str, Any] = {
                k: bytes.fromhex(v) if isinstance(v, str) else v for k, v in inp.items()}
            ciphertext = encrypt_data_message(hx["mkEnc"], hx["plaintext"])
            m = DataMessage(hx["senderTag"], hx["receiverTag"], hx["flags"],
                            hx["previousChainLength"], hx["ratchetId"], hx["messageId"],
                            hx["ecdhPublic"], int.from_bytes(hx["dhPublic"], "big") or None,
                            ciphertext, revealed_mac_keys=hx["revealedMacKeys"])
            tag = compute_authenticator(hx["mkMac"], m.authenticated_sections())
            assert tag.hex() == out["authenticator"]
            assert replace(m, authenticator=tag).encode().hex() == out["encoded"]
        elif kind == "DataMessageDecoding":
            with raises_exactly(test["expectedError"], test["comment"]):
                DataMessage.decode(bytes.fromhex(inp["encoded"]))
        else:
            m = DataMessage.decode(bytes.fromhex(inp["encoded"]))
            ok = verify_authenticator(bytes.fromhex(inp["mkMac"]), m)
            assert ok == (test["result"] == "valid")
            assert test["expectedError"] in (None, "AuthenticatorMismatch")
    assert kinds == {"DataMessageEncoding", "DataMessageDecoding", "DataMessageAuthenticator"}


# -- issue 15: the authenticated sections are encoded once per message -------------------------


def _fresh_sections(m: DataMessage) -> bytes:
    """The sections of ``m`` encoded anew (a copy made by ``replace`` keeps nothing)."""
    return replace(m, authenticator=m.authenticator).authenticated_sections()


def test_sections_are_encoded_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    import otrv4.data_message as dm

    encodings = 0
    real_encode = dm._encode_sections

    def counting_encode(*fields: Any) -> bytes:
        nonlocal encodings
        encodings += 1
        return real_encode(*fields)

    monkeypatch.setattr(dm, "_encode_sections", counting_encode)
    unsigned = replace(SAMPLE, authenticator=bytes(64))
    signed = unsigned.with_authenticator(b"k" * 64)
    wire = signed.encode()
    assert encodings == 1  # for the MAC; encode() reuses them
    assert signed.authenticator == compute_authenticator(b"k" * 64, _fresh_sections(signed))
    decoded = DataMessage.decode(wire)
    encodings = 0
    assert verify_authenticator(b"k" * 64, decoded)
    sections = decoded.authenticated_sections()
    assert encodings == 0  # a decoded message keeps the slice it came in
    assert sections == _fresh_sections(signed)
    assert DataMessage.signed(b"k" * 64, *[getattr(SAMPLE, f) for f in _FIELDS[:9]],
                              revealed_mac_keys=SAMPLE.revealed_mac_keys) == signed


def test_the_fast_constructor_sets_exactly_the_fields() -> None:
    from dataclasses import fields

    made = DataMessage._make(*[getattr(SAMPLE, f) for f in _FIELDS], b"sections")
    assert made == SAMPLE and repr(made) == repr(SAMPLE) and hash(made) == hash(SAMPLE)
    assert tuple(f.name for f in fields(DataMessage)) == _FIELDS
    assert set(vars(made)) == {*_FIELDS, "_sections"}
    assert made.authenticated_sections() == b"sections"


_FIELDS = ("sender_tag", "receiver_tag", "flags", "previous_chain_length", "ratchet_id",
           "message_id", "ecdh_public", "dh_public", "ciphertext", "authenticator",
           "revealed_mac_keys")


def _outcome(decode: Any, data: bytes) -> tuple[Any, ...]:
    try:
        m = decode(data)
    except OTRError as exc:
        return (type(exc), str(exc))
    return (m, m.authenticated_sections())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_one_pass_decoding_agrees_with_the_field_reader(data: st.DataObject) -> None:
    """The fixed-offset pass of ``decode`` accepts exactly what the field-by-field reader
    accepts, with the same fields and sections, and leaves every error to the reader."""
    dh = data.draw(st.one_of(st.none(), st.integers(1, 2**80)))
    m = DataMessage(data.draw(st.integers(0, 2**32 - 1)), 0x100,
                    data.draw(st.sampled_from([0, 1])), 3, 4, 5, bytes(range(57)), dh,
                    data.draw(st.binary(max_size=80)), b"\x0a" * 64,
                    b"\x0b" * 64 * data.draw(st.integers(0, 2)))
    wire = bytearray(m.encode())
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(wire) - 1))
        wire[at] = data.draw(st.sampled_from([0, 1, 2, 0x40, 0xFF, wire[at] ^ 1]))
    cut = data.draw(st.sampled_from([len(wire), len(wire) - 1, len(wire) + 1, 160, 100]))
    mutated = bytes(wire[:cut]) + (b"\x00" if cut > len(wire) else b"")
    assert _outcome(DataMessage.decode, mutated) == _outcome(DataMessage._read, mutated)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"sender_tag": 2**32}, "INT 4294967296 is outside"), ({"flags": 256}, "BYTE 256"),
     ({"message_id": -1}, "INT -1 is outside"), ({"ecdh_public": b"x" * 56}, "expected 57"),
     ({"dh_public": -5}, "an MPI is unsigned")],
)
def test_fields_that_do_not_fit_name_themselves(change: dict[str, Any], message: str) -> None:
    from otrv4.encoding import OutOfRangeError

    with pytest.raises(OutOfRangeError, match=message):
        replace(SAMPLE, **change).authenticated_sections()
    with pytest.raises(OutOfRangeError, match="expected 64 bytes, got 3"):
        replace(SAMPLE, authenticator=b"abc").encode()


def test_a_changed_copy_does_not_keep_old_sections() -> None:
    decoded = DataMessage.decode(SAMPLE.encode())
    changed = replace(decoded, ciphertext=b"other")
    assert changed.authenticated_sections() != decoded.authenticated_sections()
    assert changed.authenticated_sections() == _fresh_sections(changed)
    assert DataMessage.decode(changed.encode()) == changed
