"""Vectors for the Data Message (``examples/vectors/data-message.json``).

Groups: two messages taken from a ratchet conversation, one without and one
with a DH public key (the latter also reveals old MAC keys), with their
fields, message keys, ciphertext and authenticator (decision 3); binary
messages that must fail to decode; and messages whose authenticator must not
verify under the given MAC key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from otrv4.data_message import DataMessage, compute_authenticator
from otrv4.encoding import encode_mpi
from otrv4.errors import OTRError
from otrv4.primitives import cipher
from otrv4.primitives.rng import DeterministicRng

from ..vectors import TestCase, TestGroup, VectorFile
from .ratchet import play, setup

__all__ = ["VECTOR_FILES", "data_message_vectors"]


def _fields(m: DataMessage) -> dict[str, object]:
    return {
        "senderTag": m.sender_tag, "receiverTag": m.receiver_tag, "flags": m.flags,
        "previousChainLength": m.previous_chain_length, "ratchetId": m.ratchet_id,
        "messageId": m.message_id, "ecdhPublic": m.ecdh_public,
        "dhPublic": b"" if m.dh_public is None else encode_mpi(m.dh_public)[4:],
        "revealedMacKeys": m.revealed_mac_keys,
    }


def data_message_vectors() -> VectorFile:
    """The ``data-message`` vector file."""
    conv = play(setup(DeterministicRng("data-message")), DeterministicRng("data-message-run"))
    without_dh = 0
    with_dh = next(i for i, m in enumerate(conv.messages) if m.dh_public is not None)
    encoding = []
    for index, comment, flags in [
        (without_dh, "chain 0, message 0: no DH key (MPI of length 0), nothing revealed",
         ["NoDhKey"]),
        (with_dh, "chain 1, message 0: Bob's new DH key, two old MAC keys revealed",
         ["DhKey", "RevealsMacKeys"]),
    ]:
        m = conv.messages[index]
        d = conv.message_details[index]
        if compute_authenticator(d["mkMac"], m.authenticated_sections()) != m.authenticator:
            raise RuntimeError("authenticator does not verify")
        if cipher.encrypt_data_message(d["mkEnc"], conv.plaintexts[index]) != m.ciphertext:
            raise RuntimeError("ciphertext does not match")
        encoding.append(TestCase(
            comment=comment, result="valid", flags=flags,
            inputs=_fields(m) | {"plaintext": conv.plaintexts[index], "mkEnc": d["mkEnc"],
                                 "mkMac": d["mkMac"]},
            intermediates={"ciphertext": m.ciphertext,
                           "authenticatedSections": m.authenticated_sections()},
            outputs={"authenticator": m.authenticator, "encoded": m.encode()},
        ))
    raw = conv.messages[with_dh].encode()
    sample = conv.messages[without_dh]
    dh_mpi = encode_mpi(conv.messages[with_dh].dh_public or 0)
    bad_decodes = [
        ("last byte missing", raw[:-1], "TruncatedError"),
        ("one byte too many", raw + b"\x00", "TrailingDataError"),
        ("protocol version 3", b"\x00\x03" + raw[2:], "UnsupportedVersionError"),
        ("message type 0x35 (Identity)", raw[:2] + b"\x35" + raw[3:], "WrongMessageTypeError"),
        ("undefined flag 0x02", raw[:11] + b"\x02" + raw[12:], "UnknownFlagsError"),
        ("DH key MPI with a leading zero byte",
         raw.replace(dh_mpi, (len(dh_mpi) - 3).to_bytes(4, "big") + b"\x00" + dh_mpi[4:]),
         "NonMinimalMPIError"),
        ("63 bytes of old MAC keys",
         replace(sample, revealed_mac_keys=b"\x00" * 63).encode(), "RevealedMacKeysLengthError"),
    ]
    decoding = []
    for comment, data, error in bad_decodes:
        try:
            DataMessage.decode(data)
            raised = None
        except OTRError as e:
            raised = type(e).__name__
        if raised != error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        decoding.append(TestCase(comment=comment, result="invalid", inputs={"encoded": data},
                                 expected_error=error))
    mk_mac = conv.message_details[without_dh]["mkMac"]
    tampered = [
        ("message id changed", replace(sample, message_id=sample.message_id + 1)),
        ("one ciphertext byte changed",
         replace(sample, ciphertext=bytes([sample.ciphertext[0] ^ 0x80]) + sample.ciphertext[1:])),
        ("IGNORE_UNREADABLE flag set afterwards", replace(sample, flags=1)),
    ]
    auth = [TestCase(comment="old MAC keys appended: not covered, still verifies",
                     result="valid", flags=["RevealedKeysNotCovered"],
                     inputs={"mkMac": mk_mac,
                             "encoded": replace(sample, revealed_mac_keys=b"\x01" * 64).encode()})]
    auth += [TestCase(comment=c, result="invalid", inputs={"mkMac": mk_mac, "encoded": m.encode()},
                      expected_error="AuthenticatorMismatch") for c, m in tampered]
    return VectorFile(
        algorithm="OTRv4 Data Message",
        header=[
            "Layout: version 0x0004, type 0x03, sender tag, receiver tag, flags, pn,",
            "ratchet id, message id (INTs), ECDH key (POINT), DH key (MPI, empty if absent),",
            "encrypted message (DATA), authenticator (64), old MAC keys (DATA).",
            "ciphertext = ChaCha20(key = MKenc[0:32], nonce = 0^12, counter 0) XOR plaintext.",
            "authenticator = HCMAC(0x18 || MKmac || sections, 64) (decision 3), sections being",
            "the message from the version through the encrypted message's DATA.",
            "dhPublic is the MPI's magnitude (empty when absent).",
        ],
        notes={
            "NoDhKey": "The chain re-uses or re-hashes the brace key: empty DH MPI.",
            "DhKey": "The chain agrees on a new DH key: the MPI carries it.",
            "RevealsMacKeys": "First message of a new chain: reveals MAC keys of received ones.",
            "RevealedKeysNotCovered": "The old MAC keys lie outside the authenticated sections.",
        },
        groups=[
            TestGroup(type="DataMessageEncoding", tests=encoding,
                      comment="fields and keys to bytes"),
            TestGroup(type="DataMessageDecoding", tests=decoding,
                      comment="bytes that do not decode"),
            TestGroup(type="DataMessageAuthenticator", tests=auth,
                      comment="verify the authenticator of 'encoded' with 'mkMac'"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"data-message": data_message_vectors}
