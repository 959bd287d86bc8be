"""Every single-bit flip of a DAKE message is detected, with an OTRError subclass.

Auth-R, Auth-I and Non-Interactive-Auth are authenticated when received (profile
signatures, ring signatures over t, the Auth MAC), so every flip is rejected there.
The Identity message is not authenticated by itself: a flipped Y, B or first key may
still be a valid value, Alice then answers it, and the tampering shows when Bob
verifies her Auth-R.  No other exception type may escape, and a rejecting receiver's
state is unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4 import dake
from otrv4.errors import OTRError
from otrv4.primitives.rng import DeterministicRng

from ..helpers.dake import interactive_transcript, non_interactive_transcript

_RUN = interactive_transcript()[0]
_NON = non_interactive_transcript()[0]
_MESSAGES = {
    "identity": _RUN.identity.send,
    "auth_r": _RUN.auth_r.send,
    "auth_i": _RUN.auth_i.send,
}


def _flip(data: bytes, bit: int) -> bytes:
    b = bytearray(data)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


@pytest.mark.parametrize("step", sorted(_MESSAGES))
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_interactive_bit_flips(step: str, data: st.DataObject) -> None:
    msg = _MESSAGES[step]
    assert msg is not None
    raw = msg.encode()
    bit = data.draw(st.integers(0, len(raw) * 8 - 1), label="bit")
    before = (_RUN.identity.state, _RUN.auth_r.state)
    flipped = _flip(raw, bit)
    if step == "identity":
        try:
            answered = _RUN.deliver(step, flipped)
        except OTRError:
            return
        assert answered.send is not None  # Alice answered a tampered Identity: Bob must refuse
        with pytest.raises(OTRError):
            dake.receive_auth_r(_RUN.bob, _RUN.identity.state, answered.send.encode(),
                                DeterministicRng("fuzz"))
    else:
        with pytest.raises(OTRError):
            _RUN.deliver(step, flipped)
    assert (_RUN.identity.state, _RUN.auth_r.state) == before


@settings(max_examples=50, deadline=None)
@given(bit=st.integers(0, len(_NON.message.encode()) * 8 - 1))
def test_non_interactive_bit_flips(bit: int) -> None:
    raw = _NON.message.encode()
    before = _NON.local
    with pytest.raises(OTRError):
        _NON.deliver(_flip(raw, bit))
    assert _NON.local == before
