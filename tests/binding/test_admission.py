"""Inbound admission (:mod:`otrv4_xmpp.admission`): admit or drop, with a reason, without XMPP."""

from __future__ import annotations

import pytest

from otrv4.encoding import Header, MessageType, TruncatedError, WrongMessageTypeError
from otrv4_xmpp.admission import (
    Admitted,
    Dropped,
    DropReason,
    Path,
    admit_body,
    admit_body_source,
    admit_carbon,
    admit_payload,
    payload_key,
)
from otrv4_xmpp.carriage import OtrElement, ReceivedOtr
from otrv4_xmpp.devices import DeviceMode
from otrv4_xmpp.policy import Arrival

OWN_FULL, OWN_BARE = "juliet@capulet.lit/balcony", "juliet@capulet.lit"
ROMEO = "romeo@montague.lit/garden"
ME, PHONE, R1 = 0x0000_0A01, 0x0000_0A02, 0x0000_0B01


def message(kind: MessageType, receiver: int, body: bytes = b"body") -> bytes:
    return Header(kind, R1, receiver).encode() + body


def received(*payloads: tuple[int, bytes], to: str = OWN_BARE,
             sender: str = ROMEO) -> ReceivedOtr:
    return ReceivedOtr(sender, to, "m1", OtrElement.of(R1, payloads), frozenset())


def admit(r: ReceivedOtr, path: Path = Path.LIVE, *, seen: frozenset[bytes] = frozenset(),
          mode: DeviceMode = DeviceMode.STANDALONE) -> Admitted | Dropped:
    return admit_payload(r, path, own_full=OWN_FULL, own_tag=ME, mode=mode, seen=seen)


def test_the_payload_for_this_device_is_admitted_with_its_key() -> None:
    mine, other = message(MessageType.DATA, ME), message(MessageType.DATA, PHONE)
    got = admit(received((PHONE, other), (ME, mine)))
    assert got == Admitted(mine, MessageType.DATA, payload_key("romeo@montague.lit", mine))


def test_a_stanza_without_a_payload_for_this_device_is_dropped_quietly() -> None:
    got = admit(received((PHONE, message(MessageType.DATA, PHONE))))
    assert isinstance(got, Dropped) and got.reason is DropReason.NOT_FOR_THIS_DEVICE
    assert got.reason.expected


@pytest.mark.parametrize("path", list(Path))
def test_a_payload_seen_on_any_path_is_a_duplicate(path: Path) -> None:
    data = message(MessageType.DATA, ME)
    # The key ignores the resource and the case of the sender's JID.
    seen = frozenset({payload_key("romeo@montague.lit", data)})
    got = admit(received((ME, data), sender="Romeo@Montague.lit/other"), path, seen=seen)
    assert isinstance(got, Dropped) and got.reason is DropReason.DUPLICATE
    assert isinstance(admit(received((ME, data)), path), Admitted)  # not seen: admitted


@pytest.mark.parametrize("path", [Path.CARBON, Path.OFFLINE, Path.MAM])
def test_dake_messages_are_taken_only_live(path: Path) -> None:
    identity = message(MessageType.IDENTITY, 0)
    got = admit(received((0, identity), to=OWN_FULL), path)
    assert isinstance(got, Dropped) and got.reason is DropReason.NOT_ACCEPTED_ON_PATH
    assert not got.reason.expected
    assert isinstance(admit(received((0, identity), to=OWN_FULL)), Admitted)


def test_a_live_dake_message_must_be_addressed_to_this_full_jid() -> None:
    auth_r = message(MessageType.AUTH_R, ME)
    for to in (OWN_BARE, "juliet@capulet.lit/phone"):
        got = admit(received((ME, auth_r), to=to))
        assert isinstance(got, Dropped) and got.reason is DropReason.NOT_TO_OUR_FULL_JID


def test_an_interactive_only_device_drops_non_interactive_auth() -> None:
    nia = message(MessageType.NON_INTERACTIVE_AUTH, ME)
    got = admit(received((ME, nia)), mode=DeviceMode.INTERACTIVE_ONLY)
    assert isinstance(got, Dropped) and got.reason is DropReason.NOT_ACCEPTED_ON_PATH
    assert isinstance(admit(received((ME, nia)), Path.MAM), Admitted)


def test_paths_map_to_the_policy_arrivals() -> None:
    assert [p.arrival for p in Path] == [Arrival.LIVE, Arrival.CARBON, Arrival.ARCHIVE,
                                         Arrival.ARCHIVE]


def test_carbons_are_trusted_only_from_the_own_account() -> None:
    assert admit_carbon("", OWN_BARE) is None
    assert admit_carbon(OWN_BARE, OWN_BARE) is None
    for forger in ("romeo@montague.lit", OWN_FULL, "capulet.lit"):
        got = admit_carbon(forger, OWN_BARE)
        assert got is not None and got.reason is DropReason.FORGED_CARBON


def test_otr_text_bodies_are_read_only_live_from_a_full_jid() -> None:
    assert admit_body_source(ROMEO, delayed=False) is None
    for sender, delayed in ((ROMEO, True), ("romeo@montague.lit", False)):
        got = admit_body_source(sender, delayed=delayed)
        assert got is not None and got.reason is DropReason.BODY_NOT_LIVE


def test_an_encoded_message_in_a_body_is_addressed_by_its_own_tags() -> None:
    identity, data = message(MessageType.IDENTITY, 0), message(MessageType.DATA, ME)
    assert admit_body(ROMEO, identity, own_tag=ME, seen=()) == Admitted(
        identity, MessageType.IDENTITY, payload_key(ROMEO.partition("/")[0], identity))
    admitted = admit_body(ROMEO, data, own_tag=ME, seen=())
    assert isinstance(admitted, Admitted) and admitted.kind is MessageType.DATA
    other = admit_body(ROMEO, message(MessageType.DATA, PHONE), own_tag=ME, seen=())
    assert isinstance(other, Dropped) and other.reason is DropReason.NOT_FOR_THIS_DEVICE
    again = admit_body(ROMEO, data, own_tag=ME, seen={admitted.key})
    assert isinstance(again, Dropped) and again.reason is DropReason.DUPLICATE


def test_a_body_whose_tags_cannot_be_read_is_dropped_with_the_decoding_error() -> None:
    short = admit_body(ROMEO, message(MessageType.DATA, ME)[:10], own_tag=ME, seen=())
    assert isinstance(short, Dropped) and short.reason is DropReason.UNREADABLE_HEADER
    assert isinstance(short.error, TruncatedError)
    prekey = admit_body(ROMEO, bytes.fromhex("00040f") + bytes(8), own_tag=ME, seen=())
    assert isinstance(prekey, Dropped) and isinstance(prekey.error, WrongMessageTypeError)


def test_groupchat_is_dropped_other_types_go_on() -> None:
    from otrv4_xmpp.admission import DropReason, admit_stanza_type
    dropped = admit_stanza_type("groupchat")
    assert dropped is not None and dropped.reason is DropReason.GROUPCHAT
    assert not dropped.reason.expected
    assert all(admit_stanza_type(t) is None for t in ("chat", "normal", ""))
