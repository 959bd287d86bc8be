"""The OTRv4-standalone and OTRv4-interactive-only modes (otrv4.md §OTRv4 Modes)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from otrv4.keys import ForgingKey, LongTermKeyPair
from otrv4.modes import (
    CAPABILITIES,
    Capability,
    Mode,
    NonInteractiveDakeRefusedError,
    OTRv3RequestRefusedError,
    OwnProfileNotAllowedInModeError,
    PlaintextRefusedError,
    PrekeyPublicationRefusedError,
    check_own_client_profile,
    require,
)
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import ClientProfile


def test_table() -> None:
    assert CAPABILITIES[Capability.NON_INTERACTIVE_DAKE] == {
        Mode.STANDALONE: True, Mode.INTERACTIVE_ONLY: False}
    assert set(CAPABILITIES) == set(Capability)


@pytest.mark.parametrize(("mode", "capability", "error"), [
    (Mode.INTERACTIVE_ONLY, Capability.NON_INTERACTIVE_DAKE, NonInteractiveDakeRefusedError),
    (Mode.INTERACTIVE_ONLY, Capability.PREKEY_PUBLICATION, PrekeyPublicationRefusedError),
    (Mode.STANDALONE, Capability.PLAINTEXT, PlaintextRefusedError),
    (Mode.INTERACTIVE_ONLY, Capability.PLAINTEXT, PlaintextRefusedError),
    (Mode.STANDALONE, Capability.OTRV3, OTRv3RequestRefusedError),
    (Mode.INTERACTIVE_ONLY, Capability.OTRV3, OTRv3RequestRefusedError),
])
def test_refusals(mode: Mode, capability: Capability, error: type[Exception]) -> None:
    with pytest.raises(error):
        require(mode, capability)


@pytest.mark.parametrize("mode", list(Mode))
def test_allowed(mode: Mode) -> None:
    require(mode, Capability.INTERACTIVE_DAKE)
    if mode is Mode.STANDALONE:
        require(mode, Capability.NON_INTERACTIVE_DAKE)
        require(mode, Capability.PREKEY_PUBLICATION)


def test_own_profile_rules() -> None:
    rng = DeterministicRng("test-modes")
    profile = ClientProfile.create(LongTermKeyPair.generate(rng), ForgingKey.generate(rng),
                                   0x100, 10)
    check_own_client_profile(Mode.STANDALONE, profile)
    with pytest.raises(OwnProfileNotAllowedInModeError):
        check_own_client_profile(Mode.STANDALONE, replace(profile, versions=b"34"))
    with pytest.raises(OwnProfileNotAllowedInModeError):
        check_own_client_profile(Mode.INTERACTIVE_ONLY,
                                 replace(profile, transitional_signature=bytes(40)))
