"""Instance-tag policies, conversation start, arrival rules."""

from __future__ import annotations

import pytest

from otrv4.encoding import MessageType
from otrv4_xmpp.devices import DeviceEntry, DeviceMode
from otrv4_xmpp.policy import (
    Arrival,
    InstanceInfo,
    InstanceTagPolicy,
    NoInstanceError,
    PeerPresence,
    StartMethod,
    accepts,
    may_answer,
    on_undecryptable,
    select_receivers,
    start_method,
)

PEER = [
    InstanceInfo(0x300, encrypted=False, trusted=True, last_received=50, last_sent=90),
    InstanceInfo(0x200, encrypted=True, trusted=False, last_received=80, last_sent=10),
    InstanceInfo(0x400, encrypted=True, trusted=True, last_received=20, last_sent=30),
]
OWN = [InstanceInfo(0x900), InstanceInfo(0x800)]


@pytest.mark.parametrize(("policy", "expected"), [
    (InstanceTagPolicy.BEST, (0x400,)),          # encrypted and trusted beats more recent
    (InstanceTagPolicy.RECENT, (0x300,)),        # 90, sent
    (InstanceTagPolicy.RECENT_RECEIVED, (0x200,)),
    (InstanceTagPolicy.RECENT_SENT, (0x300,)),
    (InstanceTagPolicy.SYNCHRONIZE, (0x200, 0x300, 0x400, 0x800, 0x900)),
])
def test_policies(policy: InstanceTagPolicy, expected: tuple[int, ...]) -> None:
    assert select_receivers(policy, PEER, OWN) == expected


def test_best_ties_go_to_recent_then_lowest_tag() -> None:
    a = InstanceInfo(0x500, encrypted=True, trusted=True, last_received=100)
    b = InstanceInfo(0x600, encrypted=True, trusted=True, last_received=100)
    assert select_receivers(InstanceTagPolicy.BEST, [b, a]) == (0x500,)
    c = InstanceInfo(0x700, encrypted=True, trusted=True, last_sent=101)
    assert select_receivers(InstanceTagPolicy.BEST, [a, b, c]) == (0x700,)


def test_synchronize_caps_at_eight_per_account() -> None:
    peers = [InstanceInfo(0x1000 + i) for i in range(10)]
    own = [InstanceInfo(0x2000 + i) for i in range(10)]
    got = select_receivers(InstanceTagPolicy.SYNCHRONIZE, peers, own)
    assert len([t for t in got if t < 0x2000]) == 8 and len([t for t in got if t >= 0x2000]) == 7


def test_no_instance() -> None:
    with pytest.raises(NoInstanceError):
        select_receivers(InstanceTagPolicy.SYNCHRONIZE, [], OWN)


STANDALONE = DeviceEntry(0x200, DeviceMode.STANDALONE, 2_000_000_000)
INTERACTIVE = DeviceEntry(0x200, DeviceMode.INTERACTIVE_ONLY, 2_000_000_000)


@pytest.mark.parametrize(("entry", "presence", "expected"), [
    (STANDALONE, PeerPresence({"r@m/o": True}, {"r@m/o": 0x200}),
     (StartMethod.INTERACTIVE, "r@m/o")),
    (STANDALONE, PeerPresence({"r@m/o": False}, {"r@m/o": 0x200}),
     (StartMethod.NON_INTERACTIVE, None)),                 # no OTRv4 in its caps
    (STANDALONE, PeerPresence({"r@m/o": True}, {}), (StartMethod.NON_INTERACTIVE, None)),
    (STANDALONE, PeerPresence({"r@m/o": True}, {"r@m/o": 0x300}),
     (StartMethod.NON_INTERACTIVE, None)),                 # another device is online
    (STANDALONE, PeerPresence({}, {}), (StartMethod.NON_INTERACTIVE, None)),  # offline/invisible
    (INTERACTIVE, PeerPresence({}, {}), (StartMethod.WAIT, None)),
    (INTERACTIVE, PeerPresence({"r@m/o": True}, {"r@m/o": 0x200}),
     (StartMethod.INTERACTIVE, "r@m/o")),
])
def test_start_method(entry: DeviceEntry, presence: PeerPresence,
                      expected: tuple[StartMethod, str | None]) -> None:
    assert start_method(entry, presence) == expected


def test_we_interactive_only_wait() -> None:
    assert start_method(STANDALONE, PeerPresence({}, {}), we_allow_offline=False) == (
        StartMethod.WAIT, None)


@pytest.mark.parametrize("kind", [MessageType.IDENTITY, MessageType.AUTH_R, MessageType.AUTH_I])
def test_live_messages_only_live(kind: MessageType) -> None:
    assert accepts(kind, Arrival.LIVE, DeviceMode.STANDALONE)
    assert not accepts(kind, Arrival.CARBON, DeviceMode.STANDALONE)
    assert not accepts(kind, Arrival.ARCHIVE, DeviceMode.STANDALONE)


def test_stored_messages_any_arrival_and_modes() -> None:
    for arrival in Arrival:
        assert accepts(MessageType.DATA, arrival, DeviceMode.INTERACTIVE_ONLY)
        assert accepts(MessageType.NON_INTERACTIVE_AUTH, arrival, DeviceMode.STANDALONE)
        assert not accepts(MessageType.NON_INTERACTIVE_AUTH, arrival,
                           DeviceMode.INTERACTIVE_ONLY)
    assert not accepts(MessageType.PREKEY, Arrival.LIVE, DeviceMode.STANDALONE)


def test_answers_only_live() -> None:
    assert may_answer(Arrival.LIVE)
    assert not may_answer(Arrival.CARBON) and not may_answer(Arrival.ARCHIVE)
    assert on_undecryptable(Arrival.LIVE, True).send_otr_error
    assert not on_undecryptable(Arrival.LIVE, False).send_otr_error
    archived = on_undecryptable(Arrival.ARCHIVE, True)
    assert archived.tell_user and not archived.send_otr_error


def test_ensembles_only_for_listed_standalone_devices() -> None:
    from otrv4.clock import FixedClock
    from otrv4.primitives.rng import DeterministicRng
    from otrv4_devtools.multidevice import Device
    from otrv4_xmpp.devices import DeviceList
    from otrv4_xmpp.policy import ensembles_for_devices

    rng, clock = DeterministicRng("policy-ensembles"), FixedClock(1776945600)
    phones = [Device.create(f"romeo@montague.lit/p{i}", rng, clock) for i in range(4)]
    offered = [e for p in phones for e in p.engine.ensembles(p.engine.new_prekeys(1))]
    listed = DeviceList.of([
        DeviceEntry(phones[0].tag, DeviceMode.STANDALONE, phones[0].engine.identity.expires),
        DeviceEntry(phones[1].tag, DeviceMode.INTERACTIVE_ONLY, phones[1].engine.identity.expires),
        DeviceEntry(phones[2].tag, DeviceMode.STANDALONE, clock.now()),  # expired entry
    ])  # phones[3] is not listed at all
    got = ensembles_for_devices(listed, offered, clock)
    assert list(got) == [phones[0].tag] and got[phones[0].tag] == offered[0]
