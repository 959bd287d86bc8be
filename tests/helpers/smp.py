"""A small driver of the Socialist Millionaires' Protocol for the tests (public ``otrv4.smp``).

Alice starts with her secret ``x`` and a question, Bob answers with ``y``, and
the four TLV values go back and forth; the states each receiver had are kept, so
a test can hand a mutated message to the receiver the genuine one went to.  The
draws happen in protocol order (message 1, 2, 3, 4), as the ``smp`` vector file
lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from otrv4 import smp
from otrv4.primitives.rng import DeterministicRng, Rng
from otrv4.tlv import TLV, TLVType

QUESTION = b"Where did we meet?"
_TYPES = (TLVType.SMP_MESSAGE_1, TLVType.SMP_MESSAGE_2, TLVType.SMP_MESSAGE_3,
          TLVType.SMP_MESSAGE_4)


@dataclass(frozen=True)
class SmpRun:
    """The four TLV values, the states that received them, and both outcomes."""

    values: tuple[bytes, bytes, bytes, bytes]
    receivers: tuple[smp.State, smp.State, smp.State, smp.State]
    bob_outcome: smp.SmpOutcome
    alice_outcome: smp.SmpOutcome

    def deliver(self, number: int, value: bytes) -> smp.SmpStep:
        """Hand ``value`` as SMP message ``number`` (1-4) to the state that received it."""
        return smp.handle(self.receivers[number - 1], TLV(_TYPES[number - 1], value),
                          DeterministicRng("tests/smp/deliver"))


def run_smp(x: int, y: int, rng: Rng, question: bytes = QUESTION) -> SmpRun:
    """Run SMP to the end: Alice holds ``x``, Bob answers with ``y``."""
    alice_waits, first = smp.start(x, rng, question)
    asked = smp.handle(smp.Expect1(), first.to_tlv(), rng)
    assert asked.question == question
    bob_waits, second = smp.respond(asked.state, y, rng)
    third = smp.handle(alice_waits, second.to_tlv(), rng)
    fourth = smp.handle(bob_waits, third.send[0], rng)
    last = smp.handle(third.state, fourth.send[0], rng)
    return SmpRun((first.encode(), second.encode(), third.send[0].value, fourth.send[0].value),
                  (smp.Expect1(), alice_waits, bob_waits, third.state),
                  fourth.outcome, last.outcome)
