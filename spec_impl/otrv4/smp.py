"""The Socialist Millionaires' Protocol over Ed448 (spec §Socialist Millionaires Protocol).

Wire types: :class:`SmpMessage1` .. :class:`SmpMessage4`, the values of TLVs 2
to 5 (§SMP Message 1 .. 4).  Every received point is decoded and validated
(:meth:`otrv4.primitives.ed448.Point.decode`); scalars are read modulo ``q``.

Secret: :func:`smp_secret` is ``HWC(usage_SMP_secret || 0x01 || initiator
fingerprint || responder fingerprint || SSID || DATA(secret), 57)``, pruned,
read little-endian (§Secret Information; the secret is length-prefixed:
decision 18).  Proof hashes are ``HashToScalar(i || points)`` with ``i`` =
1..8 as the usage byte and the points in their 57-byte encoding (§SMP Hash
Function); they travel reduced mod ``q`` (decision 17).

State machine (§The SMP State Machine).  The states are frozen values;
:func:`handle` takes a state and a received TLV and returns an
:class:`SmpStep` (next state, TLVs to send, outcome) or raises, leaving the
caller's state as it was.  The spec resets SMP to ``SMPSTATE_EXPECT1`` and
sends an abort on any error: that is the caller's move (the session does it),
so one function never both fails and changes state.  Receiving SMP message 1
needs the user's answer before message 2 can be sent, so EXPECT1 carries the
verified message 1 until :func:`respond` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .decisions import Decision, register
from .encoding import Reader, encode_data
from .errors import OTRError, ValidationError
from .primitives.ed448 import G, Point, decode_scalar, encode_scalar, prune, random_scalar
from .primitives.ed448 import Q as ORDER
from .primitives.kdf import UsageID, hash_to_scalar, hwc
from .primitives.rng import Rng
from .tlv import TLV, TLVType, smp_abort

__all__ = [
    "SMP_VERSION",
    "Expect1",
    "Expect2",
    "Expect3",
    "Expect4",
    "SmpAnswerMissing",
    "SmpG2ProofError",
    "SmpG3ProofError",
    "SmpMessage1",
    "SmpMessage2",
    "SmpMessage3",
    "SmpMessage4",
    "SmpOutcome",
    "SmpPQProofError",
    "SmpRProofError",
    "SmpState",
    "SmpStep",
    "SmpUnexpectedMessage",
    "abort",
    "handle",
    "respond",
    "smp_secret",
    "start",
]

SMP_VERSION = 1


# --------------------------------------------------------------------------- errors


class SmpG2ProofError(ValidationError):
    """The proof of knowledge of the exponent of G2a/G2b (c2, d2) does not verify."""


class SmpG3ProofError(ValidationError):
    """The proof of knowledge of the exponent of G3a/G3b (c3, d3) does not verify."""


class SmpPQProofError(ValidationError):
    """The proof that P and Q were built correctly (cp, d5, d6) does not verify."""


class SmpRProofError(ValidationError):
    """The proof that R was built correctly (cr, d7) does not verify."""


class SmpUnexpectedMessage(OTRError):
    """A TLV that is not an SMP message, or :func:`respond` without a pending message 1."""


class SmpAnswerMissing(OTRError):
    """:func:`respond` was called in a state with no pending question."""


# --------------------------------------------------------------------------- secret


def smp_secret(initiator_fp: bytes, responder_fp: bytes, ssid: bytes, secret: str) -> int:
    """The SMP secret value ``x`` or ``y`` (spec §Secret Information), as an integer.

    Raises :class:`ValueError` for fingerprints that are not 56 bytes or an
    SSID that is not 8 bytes (programming errors).
    """
    if len(initiator_fp) != 56 or len(responder_fp) != 56 or len(ssid) != 8:
        raise ValueError("fingerprints are 56 bytes and the SSID 8")
    digest = hwc(UsageID.SMP_SECRET, bytes([SMP_VERSION]) + initiator_fp + responder_fp + ssid
                 + encode_data(secret.encode("utf-8")), 57)
    return int.from_bytes(prune(digest), "little")


def _h(i: int, *points: Point) -> int:
    return hash_to_scalar(i, b"".join(p.encode() for p in points))


# --------------------------------------------------------------------------- wire types


def _read_points_scalars(r: Reader, layout: str) -> list[Point | int]:
    out: list[Point | int] = []
    for kind in layout:
        if kind == "P":
            out.append(Point.decode(r.read_point()))
        else:
            out.append(decode_scalar(r.read_scalar()))
    return out


@dataclass(frozen=True)
class SmpMessage1:
    """TLV 2: ``Question (DATA) || G2a || c2 || d2 || G3a || c3 || d3``."""

    question: bytes
    g2a: Point
    c2: int
    d2: int
    g3a: Point
    c3: int
    d3: int

    def encode(self) -> bytes:
        """The TLV value."""
        return (encode_data(self.question) + self.g2a.encode() + encode_scalar(self.c2)
                + encode_scalar(self.d2) + self.g3a.encode() + encode_scalar(self.c3)
                + encode_scalar(self.d3))

    @classmethod
    def decode(cls, value: bytes) -> SmpMessage1:
        """Parse and validate the points.  Raises :class:`otrv4.encoding.TruncatedError`,
        :class:`otrv4.encoding.TrailingDataError` and the point errors of
        :meth:`otrv4.primitives.ed448.Point.decode`."""
        r = Reader(value, "SMP message 1")
        question = r.read_data("question")
        g2a, c2, d2, g3a, c3, d3 = _read_points_scalars(r, "PSSPSS")
        r.finish()
        return cls(question, g2a, c2, d2, g3a, c3, d3)  # type: ignore[arg-type]

    def to_tlv(self) -> TLV:
        """As a TLV of type 2."""
        return TLV(TLVType.SMP_MESSAGE_1, self.encode())


@dataclass(frozen=True)
class SmpMessage2:
    """TLV 3: ``G2b, c2, d2, G3b, c3, d3, Pb, Qb, cp, d5, d6``."""

    g2b: Point
    c2: int
    d2: int
    g3b: Point
    c3: int
    d3: int
    pb: Point
    qb: Point
    cp: int
    d5: int
    d6: int

    def encode(self) -> bytes:
        """The TLV value."""
        return b"".join(
            v.encode() if isinstance(v, Point) else encode_scalar(v)
            for v in (self.g2b, self.c2, self.d2, self.g3b, self.c3, self.d3, self.pb, self.qb,
                      self.cp, self.d5, self.d6)
        )

    @classmethod
    def decode(cls, value: bytes) -> SmpMessage2:
        """Parse and validate; raises like :meth:`SmpMessage1.decode`."""
        r = Reader(value, "SMP message 2")
        fields = _read_points_scalars(r, "PSSPSSPPSSS")
        r.finish()
        return cls(*fields)  # type: ignore[arg-type]

    def to_tlv(self) -> TLV:
        """As a TLV of type 3."""
        return TLV(TLVType.SMP_MESSAGE_2, self.encode())


@dataclass(frozen=True)
class SmpMessage3:
    """TLV 4: ``Pa, Qa, cp, d5, d6, Ra, cr, d7``."""

    pa: Point
    qa: Point
    cp: int
    d5: int
    d6: int
    ra: Point
    cr: int
    d7: int

    def encode(self) -> bytes:
        """The TLV value."""
        return b"".join(
            v.encode() if isinstance(v, Point) else encode_scalar(v)
            for v in (self.pa, self.qa, self.cp, self.d5, self.d6, self.ra, self.cr, self.d7)
        )

    @classmethod
    def decode(cls, value: bytes) -> SmpMessage3:
        """Parse and validate; raises like :meth:`SmpMessage1.decode`."""
        r = Reader(value, "SMP message 3")
        fields = _read_points_scalars(r, "PPSSSPSS")
        r.finish()
        return cls(*fields)  # type: ignore[arg-type]

    def to_tlv(self) -> TLV:
        """As a TLV of type 4."""
        return TLV(TLVType.SMP_MESSAGE_3, self.encode())


@dataclass(frozen=True)
class SmpMessage4:
    """TLV 5: ``Rb, cr, d7``."""

    rb: Point
    cr: int
    d7: int

    def encode(self) -> bytes:
        """The TLV value."""
        return self.rb.encode() + encode_scalar(self.cr) + encode_scalar(self.d7)

    @classmethod
    def decode(cls, value: bytes) -> SmpMessage4:
        """Parse and validate; raises like :meth:`SmpMessage1.decode`."""
        r = Reader(value, "SMP message 4")
        fields = _read_points_scalars(r, "PSS")
        r.finish()
        return cls(*fields)  # type: ignore[arg-type]

    def to_tlv(self) -> TLV:
        """As a TLV of type 5."""
        return TLV(TLVType.SMP_MESSAGE_4, self.encode())


# --------------------------------------------------------------------------- states


class SmpState(Enum):
    """The four SMP states of the spec."""

    EXPECT1 = "SMPSTATE_EXPECT1"
    EXPECT2 = "SMPSTATE_EXPECT2"
    EXPECT3 = "SMPSTATE_EXPECT3"
    EXPECT4 = "SMPSTATE_EXPECT4"


@dataclass(frozen=True)
class Expect1:
    """SMPSTATE_EXPECT1; ``pending`` is a verified message 1 awaiting the user's answer."""

    pending: SmpMessage1 | None = None
    name: SmpState = SmpState.EXPECT1


@dataclass(frozen=True)
class Expect2:
    """SMPSTATE_EXPECT2: we sent message 1."""

    x: int = field(repr=False)
    a2: int = field(repr=False)
    a3: int = field(repr=False)
    name: SmpState = SmpState.EXPECT2


@dataclass(frozen=True)
class Expect3:
    """SMPSTATE_EXPECT3: we sent message 2."""

    g3a: Point
    g2: Point
    g3: Point
    b3: int = field(repr=False)
    pb: Point
    qb: Point
    name: SmpState = SmpState.EXPECT3


@dataclass(frozen=True)
class Expect4:
    """SMPSTATE_EXPECT4: we sent message 3."""

    g3b: Point
    pa_minus_pb: Point
    qa_minus_qb: Point
    a3: int = field(repr=False)
    name: SmpState = SmpState.EXPECT4


State = Expect1 | Expect2 | Expect3 | Expect4


class SmpOutcome(Enum):
    """What a step means for the user."""

    NONE = "nothing to report"
    QUESTION = "the peer started SMP; ask the user for the answer"
    SUCCEEDED = "the secrets are equal"
    FAILED = "the secrets differ"
    ABORTED = "SMP was aborted"


@dataclass(frozen=True)
class SmpStep:
    """Next state, TLVs to send, and what to tell the user."""

    state: State
    send: tuple[TLV, ...] = ()
    outcome: SmpOutcome = SmpOutcome.NONE
    question: bytes | None = None


# --------------------------------------------------------------------------- the protocol


def start(x: int, rng: Rng, question: bytes = b"") -> tuple[Expect2, SmpMessage1]:
    """§SMP Message 1: Alice's first message (four random scalars: a2, a3, r2, r3)."""
    a2, a3, r2, r3 = (random_scalar(rng) for _ in range(4))
    c2 = _h(1, G * r2)
    c3 = _h(2, G * r3)
    msg = SmpMessage1(question, G * a2, c2, (r2 - a2 * c2) % ORDER, G * a3, c3,
                      (r3 - a3 * c3) % ORDER)
    return Expect2(x, a2, a3), msg


def verify_message_1(msg: SmpMessage1) -> None:
    """Bob's checks of message 1.  Raises :class:`SmpG2ProofError`, :class:`SmpG3ProofError`."""
    if msg.c2 != _h(1, G * msg.d2 + msg.g2a * msg.c2):
        raise SmpG2ProofError("c2 != HashToScalar(0x01 || G*d2 + G2a*c2)")
    if msg.c3 != _h(2, G * msg.d3 + msg.g3a * msg.c3):
        raise SmpG3ProofError("c3 != HashToScalar(0x02 || G*d3 + G3a*c3)")


def respond(state: State, y: int, rng: Rng) -> tuple[Expect3, SmpMessage2]:
    """§SMP Message 2: Bob answers a verified message 1 with his secret ``y``.

    Seven random scalars (b2, b3, r2, r3, r4, r5, r6).  Raises
    :class:`SmpAnswerMissing` unless ``state`` is EXPECT1 with a pending message 1.
    """
    if not isinstance(state, Expect1) or state.pending is None:
        raise SmpAnswerMissing("no SMP question is waiting for an answer")
    m1 = state.pending
    b2, b3, r2, r3, r4, r5, r6 = (random_scalar(rng) for _ in range(7))
    c2 = _h(3, G * r2)
    c3 = _h(4, G * r3)
    g2 = m1.g2a * b2
    g3 = m1.g3a * b3
    y_q = y % ORDER
    pb = g3 * r4
    qb = G * r4 + g2 * y_q
    cp = _h(5, g3 * r5, G * r5 + g2 * r6)
    msg = SmpMessage2(G * b2, c2, (r2 - b2 * c2) % ORDER, G * b3, c3, (r3 - b3 * c3) % ORDER,
                      pb, qb, cp, (r5 - r4 * cp) % ORDER, (r6 - y_q * cp) % ORDER)
    return Expect3(m1.g3a, g2, g3, b3, pb, qb), msg


def _receive_2(state: Expect2, msg: SmpMessage2, rng: Rng) -> tuple[Expect4, SmpMessage3]:
    if msg.c2 != _h(3, G * msg.d2 + msg.g2b * msg.c2):
        raise SmpG2ProofError("c2 != HashToScalar(0x03 || G*d2 + G2b*c2)")
    if msg.c3 != _h(4, G * msg.d3 + msg.g3b * msg.c3):
        raise SmpG3ProofError("c3 != HashToScalar(0x04 || G*d3 + G3b*c3)")
    g2 = msg.g2b * state.a2
    g3 = msg.g3b * state.a3
    if msg.cp != _h(5, g3 * msg.d5 + msg.pb * msg.cp, G * msg.d5 + g2 * msg.d6 + msg.qb * msg.cp):
        raise SmpPQProofError("cp does not verify for Pb, Qb")
    r4, r5, r6, r7 = (random_scalar(rng) for _ in range(4))
    x_q = state.x % ORDER
    pa = g3 * r4
    qa = G * r4 + g2 * x_q
    cp = _h(6, g3 * r5, G * r5 + g2 * r6)
    qa_qb = qa - msg.qb
    ra = qa_qb * state.a3
    cr = _h(7, G * r7, qa_qb * r7)
    out = SmpMessage3(pa, qa, cp, (r5 - r4 * cp) % ORDER, (r6 - x_q * cp) % ORDER, ra, cr,
                      (r7 - state.a3 * cr) % ORDER)
    return Expect4(msg.g3b, pa - msg.pb, qa_qb, state.a3), out


def _receive_3(state: Expect3, msg: SmpMessage3, rng: Rng) -> tuple[SmpMessage4, bool]:
    if msg.cp != _h(6, state.g3 * msg.d5 + msg.pa * msg.cp,
                    G * msg.d5 + state.g2 * msg.d6 + msg.qa * msg.cp):
        raise SmpPQProofError("cp does not verify for Pa, Qa")
    qa_qb = msg.qa - state.qb
    if msg.cr != _h(7, G * msg.d7 + state.g3a * msg.cr, qa_qb * msg.d7 + msg.ra * msg.cr):
        raise SmpRProofError("cr does not verify for Ra")
    r7 = random_scalar(rng)
    rb = qa_qb * state.b3
    cr = _h(8, G * r7, qa_qb * r7)
    out = SmpMessage4(rb, cr, (r7 - state.b3 * cr) % ORDER)
    return out, msg.ra * state.b3 == msg.pa - state.pb


def _receive_4(state: Expect4, msg: SmpMessage4) -> bool:
    if msg.cr != _h(8, G * msg.d7 + state.g3b * msg.cr,
                    state.qa_minus_qb * msg.d7 + msg.rb * msg.cr):
        raise SmpRProofError("cr does not verify for Rb")
    return msg.rb * state.a3 == state.pa_minus_pb


def abort() -> SmpStep:
    """The user aborts: send TLV 6, go to EXPECT1."""
    return SmpStep(Expect1(), (smp_abort(),), SmpOutcome.ABORTED)


_EXPECTED = {
    TLVType.SMP_MESSAGE_1: Expect1,
    TLVType.SMP_MESSAGE_2: Expect2,
    TLVType.SMP_MESSAGE_3: Expect3,
    TLVType.SMP_MESSAGE_4: Expect4,
}


def handle(state: State, tlv: TLV, rng: Rng) -> SmpStep:
    """Process a received SMP TLV (types 2-6) in ``state`` (spec §The SMP State Machine).

    A message that does not fit the state resets to EXPECT1 and answers with
    an abort; an abort resets to EXPECT1.  Raises the decoding errors of the
    message types, :class:`SmpG2ProofError`, :class:`SmpG3ProofError`,
    :class:`SmpPQProofError`, :class:`SmpRProofError`, and
    :class:`SmpUnexpectedMessage` for a TLV that is not an SMP message; the
    caller then resets SMP and sends an abort.
    """
    if tlv.type == TLVType.SMP_ABORT:
        return SmpStep(Expect1(), (), SmpOutcome.ABORTED)
    kind = _EXPECTED.get(TLVType(tlv.type)) if tlv.known_type is not None else None
    if kind is None:
        raise SmpUnexpectedMessage(f"TLV type {tlv.type} is not an SMP message")
    if not isinstance(state, kind):
        return SmpStep(Expect1(), (smp_abort(),), SmpOutcome.ABORTED)
    if isinstance(state, Expect1):
        m1 = SmpMessage1.decode(tlv.value)
        verify_message_1(m1)
        return SmpStep(Expect1(m1), (), SmpOutcome.QUESTION, m1.question)
    if isinstance(state, Expect2):
        new2, m3 = _receive_2(state, SmpMessage2.decode(tlv.value), rng)
        return SmpStep(new2, (m3.to_tlv(),))
    if isinstance(state, Expect3):
        m4, ok = _receive_3(state, SmpMessage3.decode(tlv.value), rng)
        return SmpStep(Expect1(), (m4.to_tlv(),),
                       SmpOutcome.SUCCEEDED if ok else SmpOutcome.FAILED)
    ok = _receive_4(state, SmpMessage4.decode(tlv.value))
    return SmpStep(Expect1(), (), SmpOutcome.SUCCEEDED if ok else SmpOutcome.FAILED)


register(Decision(
    number=17,
    title="SMP: the hash values travel reduced mod q",
    question=(
        "otrv4.md §SMP Message 1 to §SMP Message 3 send c2, c3, cp and cr, each a "
        "HashToScalar output, as SCALARs (57 bytes), and the receiver checks, e.g., "
        "'c2 = HashToScalar(1 || G * d2 + G2a * c2)'. Whether the 57-byte hash goes on the "
        "wire as it is or reduced mod q, and so how the check compares, is not said."
    ),
    decision=(
        "Each c is HashToScalar(i || points) reduced mod q (decision 15) and is sent as the "
        "SCALAR of that value (57 bytes, little-endian, below q); the d values are computed "
        "mod q and sent the same way. A receiver reads every SCALAR mod q and compares c with "
        "its own HashToScalar result as integers in [0, q)."
    ),
    reason=(
        "SCALARs are elements of Z_q (otrv4.md §Scalar), and the points involved have order "
        "q, so the reduced value is the one the proofs are about; one encoding per value "
        "makes the check a comparison of integers."
    ),
    others="Not compared with another implementation (libotr-ng's SMP uses older usage IDs).",
    vector="smp",
))

register(Decision(
    number=18,
    title="SMP: the user's secret is hashed length-prefixed",
    question=(
        "otrv4.md §Secret Information lists the 'User-specified secret' as DATA (UTF-8), but "
        "the formula below the list, x = HWC(usage_SMP_secret || version || Initiator "
        "fingerprint || Responder fingerprint || SSID || User-specified secret, 57), could be "
        "read as hashing the raw bytes."
    ),
    decision=(
        "x = HWC(usage_SMP_secret || 0x01 || initiator fingerprint (56 bytes) || responder "
        "fingerprint (56 bytes) || SSID (8 bytes) || DATA(UTF-8 secret), 57): the secret is "
        "preceded by its length in bytes as a 4-byte big-endian INT. The digest is pruned and "
        "read little-endian; the fingerprints are those of decision 13."
    ),
    reason=(
        "The field list is the format's definition and says DATA; the formula abbreviates "
        "it. The length prefix also makes the hashed input unambiguous."
    ),
    others="libotr-ng (src/smp_protocol.c) hashes the raw answer, into 64 bytes.",
    vector="smp",
))
