"""Vectors for TLV records and data-message plaintexts (``examples/vectors/tlv.json``).

Groups: the encoding of each TLV type; plaintexts (text, NUL, TLVs) as a
sender builds them; what a receiver keeps from a plaintext with unknown or
corrupted records; and strict decoding failures with their error classes.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.errors import OTRError
from otrv4.tlv import (
    TLV,
    TLVType,
    decode_payload,
    decode_tlvs,
    disconnected,
    encode_payload,
    extra_symmetric_key,
    padding,
    smp_abort,
)

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "tlv_vectors"]


def _records() -> list[TestCase]:
    samples = [
        ("Padding, 4 bytes", padding(4)),
        ("Disconnected, empty", disconnected()),
        ("Disconnected carrying one old MAC key", disconnected(bytes(range(64)))),
        ("SMP Message 1 value (opaque here)", TLV(TLVType.SMP_MESSAGE_1, b"\x00\x00\x00\x00")),
        ("SMP Abort, always empty", smp_abort()),
        ("Extra symmetric key, context 0x00000042, data 'file'",
         extra_symmetric_key(b"\x00\x00\x00\x42", b"file")),
        ("Unknown type 0x1234 (receivers ignore it)", TLV(0x1234, b"?")),
    ]
    return [TestCase(comment=c, result="valid",
                     inputs={"type": t.type, "value": t.value}, outputs={"encoded": t.encode()})
            for c, t in samples]


def _payloads() -> list[TestCase]:
    samples = [
        ("text only, no NUL", "Hello", []),
        ("heartbeat: empty text, no TLVs", "", []),
        ("UTF-8 text with HTML and an SMP abort", "<b>ça va?</b>", [smp_abort()]),
        ("empty text, Disconnected and padding", "", [disconnected(), padding(3)]),
    ]
    cases = []
    for comment, text, records in samples:
        plaintext = encode_payload(text, records)
        cases.append(TestCase(
            comment=comment, result="valid",
            inputs={"text": text, "tlvs": [t.encode() for t in records]},
            outputs={"plaintext": plaintext},
        ))
    return cases


def _receiving() -> list[TestCase]:
    samples = [
        ("unknown record skipped, later records kept",
         b"hi\x00" + TLV(0x99, b"x").encode() + smp_abort().encode(), ["UnknownTlv"]),
        ("truncated last record: processing stops, earlier records kept",
         b"hi\x00" + smp_abort().encode() + b"\x00\x01\x00\x09abc", ["CorruptedTlv"]),
        ("TLV 7 shorter than its 4-byte context: processing stops",
         b"\x00" + TLV(7, b"ab").encode() + padding(1).encode(), ["CorruptedTlv"]),
    ]
    cases = []
    for comment, plaintext, flags in samples:
        p = decode_payload(plaintext)
        cases.append(TestCase(
            comment=comment, result="valid", flags=flags, inputs={"plaintext": plaintext},
            outputs={"text": p.text, "tlvs": [t.encode() for t in p.tlvs],
                     "positions": list(p.positions), "unknown": [t.encode() for t in p.unknown],
                     "corrupted": p.corrupted},
        ))
    return cases


def _strict_failures() -> list[TestCase]:
    samples = [
        ("header cut after 3 bytes", b"\x00\x01\x00", "TruncatedTLV"),
        ("length 5, 4 bytes follow", b"\x00\x01\x00\x05abcd", "TruncatedTLV"),
        ("TLV 7 with a 2-byte value", b"\x00\x07\x00\x02ab", "MalformedTLVValue"),
    ]
    cases = []
    for comment, data, error in samples:
        try:
            decode_tlvs(data)
            raised = None
        except OTRError as e:
            raised = type(e).__name__
        if raised != error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        cases.append(TestCase(comment=comment, result="invalid", inputs={"tlvs": data},
                              expected_error=error, flags=["Strict"]))
    cases.append(TestCase(comment="plaintext text that is not UTF-8", result="invalid",
                          inputs={"plaintext": b"\xff\x00"}, expected_error="InvalidPayloadText",
                          flags=["Strict"]))
    return cases


def tlv_vectors() -> VectorFile:
    """The ``tlv`` vector file."""
    return VectorFile(
        algorithm="OTRv4 TLV records and data-message plaintext",
        header=[
            "A TLV record is Type (SHORT, big-endian) || Length (SHORT) || Value.",
            "Types: 0 Padding, 1 Disconnected, 2-5 SMP messages 1-4, 6 SMP Abort,",
            "7 Extra symmetric key (4-byte context || data).",
            "A plaintext is UTF-8 text, then optionally NUL and the records.",
            "Receivers skip unknown types and stop at a corrupted record, keeping the rest.",
        ],
        notes={
            "UnknownTlv": "A record of an undefined type is set aside; processing continues.",
            "CorruptedTlv": "TLV processing stops at this record; text and earlier records stay.",
            "Strict": "Strict decoding (as for our own TLV lists) rejects the input.",
        },
        groups=[
            TestGroup(type="TlvEncoding", tests=_records(), comment="one record each"),
            TestGroup(type="PlaintextEncoding", tests=_payloads(),
                      comment="text [|| NUL || TLVs]"),
            TestGroup(type="PlaintextReceiving", tests=_receiving(),
                      comment="what a receiver keeps"),
            TestGroup(type="StrictDecoding", tests=_strict_failures(),
                      comment="inputs a strict decoder rejects"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"tlv": tlv_vectors}
