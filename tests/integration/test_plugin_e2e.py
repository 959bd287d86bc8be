"""End to end on a real Prosody: the ``xep_otr4`` plugin with several devices per account.

Juliet and Romeo each run two or three devices (separate slixmpp clients,
separate resources, separate instance tags).  Every test has a hard time
limit (:data:`tests.integration.cast.TEST_TIMEOUT`) and bounded waits.
"""

from __future__ import annotations

import asyncio
import base64
from xml.etree import ElementTree as ET

import pytest
from lxml import etree

from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp import devices
from otrv4_xmpp.namespaces import NS_OTR4
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client
from otrv4_xmpp.slixmpp_plugin.plugin import NoRecipientsError, Otr4Session
from otrv4_xmpp.validation import StanzaValidator

from .cast import Cast, collect, run
from .conftest import ProsodyServer

pytestmark = pytest.mark.integration

ROMEO = "romeo@localhost"
JULIET = "juliet@localhost"


async def _two_accounts(cast: Cast, juliet: int = 2, romeo: int = 2) -> None:
    names = [f"juliet/j{i}" for i in range(1, juliet + 1)] + [
        f"romeo/r{i}" for i in range(1, romeo + 1)]
    await cast.online(*names)
    await cast.befriend("juliet/j1", "romeo/r1")
    await cast.see_online("juliet/j1", ROMEO, romeo)
    await cast.see_online("romeo/r1", JULIET, juliet)


async def _all_sessions(cast: Cast) -> None:
    """Every device starts sessions with the other account (and its own devices)."""
    for name, client in cast.devices.items():
        peer = ROMEO if name.startswith("juliet") else JULIET
        await client.otr.start_sessions(peer, timeout=15)


def test_discovery_and_device_lists(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "lists")
        try:
            await _two_accounts(cast, juliet=3, romeo=2)
            j1, r1 = cast["juliet/j1"], cast["romeo/r1"]
            # Discovery: every device advertises the feature in disco#info.
            for name in ("romeo/r1", "romeo/r2"):
                assert await j1.otr.supports_otr4(cast[name].boundjid.full)
            for name in ("juliet/j2", "juliet/j3"):
                assert await r1.otr.supports_otr4(cast[name].boundjid.full)
            # Device lists: each account lists exactly its devices, with the Client
            # Profile expiry and the label; the peer reads the same list.
            want_j = sorted(cast[f"juliet/j{i}"].otr.instance_tag for i in (1, 2, 3))
            got = await r1.otr.fetch_devices(JULIET)
            assert list(got.tags) == want_j
            entry = got.find(j1.otr.instance_tag)
            assert entry is not None
            assert entry.expires == j1.otr.identity.expires
            assert entry.label == "j1"
            assert entry.mode is devices.DeviceMode.STANDALONE
            want_r = sorted(cast[f"romeo/r{i}"].otr.instance_tag for i in (1, 2))
            assert list((await j1.otr.fetch_devices(ROMEO)).tags) == want_r
            # The published payload is valid against the devices schema.
            report = StanzaValidator().validate_elements([got.to_element()])
            assert report == []
        finally:
            await cast.close()
    run(scenario)


def test_interactive_dake_and_fan_out_to_every_device(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "fanout")
        try:
            await _two_accounts(cast, juliet=3, romeo=2)
            j1 = cast["juliet/j1"]
            sessions = await j1.otr.start_sessions(ROMEO, timeout=15)
            others = ["romeo/r1", "romeo/r2", "juliet/j2", "juliet/j3"]
            assert sorted(s.full_jid for s in sessions) == sorted(
                cast[n].boundjid.full for n in others)
            # The peers saw the same DAKE: same SSID on both ends of each pair (the
            # responder completes when Auth-I arrives, just after the initiator).
            for s in sessions:
                peer = next(c for c in cast.devices.values() if c.boundjid.full == s.full_jid)

                async def completed(peer: Otr4Client = peer) -> list[Otr4Session]:
                    while True:
                        mine = [x for x in peer.sessions if x.tag == j1.otr.instance_tag]
                        if mine:
                            return mine
                        await asyncio.sleep(0.05)
                mine = await asyncio.wait_for(completed(), 10)
                assert mine[-1].ssid == s.ssid.hex()
                assert mine[-1].fingerprint == j1.otr.fingerprint
            report = await j1.otr.send_message(ROMEO, "wherefore art thou")
            assert report.missing == ()
            assert len(report.recipients) == 4
            got = await collect([cast[n] for n in others], "wherefore art thou")
            for full, copies in got.items():
                assert len(copies) == 1, (full, copies)  # decrypted exactly once
                m = copies[0]
                assert m.sender == j1.boundjid.full
                assert m.sender_tag == j1.otr.instance_tag
            # Romeo's devices got it as the addressee, Juliet's other devices as copies.
            assert {m.via for n in ("romeo/r1", "romeo/r2")
                    for m in got[cast[n].boundjid.full]} == {"live"}
            juliet_copies = [m for n in ("juliet/j2", "juliet/j3")
                             for m in got[cast[n].boundjid.full]]
            assert {m.via for m in juliet_copies} == {"carbon"}
            assert all(m.outgoing and m.to == ROMEO for m in juliet_copies)
            # The sender itself does not decrypt its own message.
            assert not [m for m in j1.received if m.text == "wherefore art thou"]
            # A reply from one of Romeo's devices reaches all the others too.
            r2 = cast["romeo/r2"]
            await r2.otr.start_sessions(JULIET, timeout=15)
            await r2.otr.send_message(JULIET, "it is my lady")
            got = await collect([cast[n] for n in ("juliet/j1", "juliet/j2", "juliet/j3",
                                                   "romeo/r1")], "it is my lady")
            assert all(len(v) == 1 for v in got.values()), got
            assert not [e for c in cast.devices.values() for e in c.errors], \
                [e.reason for c in cast.devices.values() for e in c.errors]
        finally:
            await cast.close()
    run(scenario)


def test_chat_state_and_receipt_request_travel_encrypted(prosody: ProsodyServer) -> None:
    """SCE on the wire: the chat state and the receipt request reach every device inside
    the envelope, never in the clear; typed text that looks like an envelope stays text."""
    async def scenario() -> None:
        cast = Cast(prosody, "sce")
        try:
            await _two_accounts(cast, juliet=2, romeo=1)
            j1, r1, j2 = cast["juliet/j1"], cast["romeo/r1"], cast["juliet/j2"]
            await j1.otr.start_sessions(ROMEO, timeout=15)
            sent: list[etree._Element] = []
            j1.add_filter("out", lambda st: sent.append(etree.fromstring(str(st))) or st)
            report = await j1.otr.send_message(ROMEO, "soft, what light", chat_state="active",
                                               request_receipt=True)
            assert len(report.recipients) == 2
            got = await collect([r1, j2], "soft, what light")
            for copies in got.values():
                (m,) = copies
                assert (m.chat_state, m.receipt_request, m.encrypted_content) == (
                    "active", True, True)
            wire = b"".join(etree.tostring(x) for x in sent if x.get("id") == report.stanza_id)
            assert b"<otr" in wire  # the stanza was seen on its way out
            assert b"chatstates" not in wire and b"urn:xmpp:receipts" not in wire
            typed = "<envelope xmlns='urn:xmpp:sce:1'><content/></envelope>"
            await j1.otr.send_message(ROMEO, typed)
            (plain,) = (await collect([r1], typed))[r1.boundjid.full]
            assert not plain.encrypted_content and plain.chat_state is None
        finally:
            await cast.close()
    run(scenario)


def test_offline_devices_get_the_message_later(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "offline")
        try:
            await _two_accounts(cast, juliet=2, romeo=2)
            await _all_sessions(cast)
            # Both of Romeo's devices go offline: the server stores the stanza.
            await cast.offline("romeo/r1", "romeo/r2")
            j1 = cast["juliet/j1"]
            report = await j1.otr.send_message(ROMEO, "the orchard walls are high")
            assert len(report.recipients) == 3
            got = await collect([cast["juliet/j2"]], "the orchard walls are high")
            assert len(got[cast["juliet/j2"].boundjid.full]) == 1
            # r1 comes back: offline storage (or the archive) delivers it.
            await cast.online("romeo/r1")
            got = await collect([cast["romeo/r1"]], "the orchard walls are high")
            [m] = got[cast["romeo/r1"].boundjid.full]
            assert m.via in ("offline", "mam")
            assert m.sender_tag == j1.otr.instance_tag
            # r2 comes back: the archive has it (offline storage too, when r1 read the
            # archive before sending its presence: Prosody then keeps the stored copy).
            await cast.online("romeo/r2")
            got = await collect([cast["romeo/r2"]], "the orchard walls are high")
            [m] = got[cast["romeo/r2"].boundjid.full]
            assert m.via in ("offline", "mam")
            # The ratchets continue: the next message arrives live on both.
            await j1.otr.send_message(ROMEO, "and hard to climb")
            got = await collect([cast["romeo/r1"], cast["romeo/r2"]], "and hard to climb")
            assert all(len(v) == 1 and v[0].via == "live" for v in got.values()), got
        finally:
            await cast.close()
    run(scenario)


def test_device_offline_while_another_is_online_catches_up_from_the_archive(
        prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "mam")
        try:
            await _two_accounts(cast, juliet=1, romeo=2)
            await _all_sessions(cast)
            await cast.offline("romeo/r2")
            j1 = cast["juliet/j1"]
            for text in ("one", "two", "three"):
                await j1.otr.send_message(ROMEO, text)
            for text in ("one", "two", "three"):
                got = await collect([cast["romeo/r1"]], text)
                assert [m.via for m in got[cast["romeo/r1"].boundjid.full]] == ["live"]
            await cast.online("romeo/r2")
            r2 = cast["romeo/r2"]
            for text in ("one", "two", "three"):
                got = await collect([r2], text)
                assert [m.via for m in got[r2.boundjid.full]] == ["mam"]
            assert [m.text for m in r2.received] == ["one", "two", "three"]
            # Where the next catch-up resumes (a client stores it across restarts).
            assert r2.otr.archive_position is not None
            assert await r2.otr.catch_up() == 0
        finally:
            await cast.close()
    run(scenario)


def test_invalid_stanzas_are_dropped_with_a_reason(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "invalid")
        try:
            await _two_accounts(cast, juliet=1, romeo=1)
            j1, r1 = cast["juliet/j1"], cast["romeo/r1"]
            tag = f"{j1.otr.instance_tag:08x}"
            bad = [
                # payload text outside the base64 alphabet
                f"<otr xmlns='{NS_OTR4}' sender='00000abc'><payload receiver='{tag}'>"
                "AAQD!!!!</payload></otr>",
                # sender tag below 0x100
                f"<otr xmlns='{NS_OTR4}' sender='000000ff'><payload receiver='{tag}'>"
                + base64.b64encode(b"\x00\x04\x03" + bytes(20)).decode() + "</payload></otr>",
            ]
            for xml in bad:
                msg = r1.make_message(mto=j1.boundjid.bare, mtype="chat", mbody="x")
                msg.append(etree_to_et(xml))
                msg.send()
            async def wait() -> None:
                while len(j1.errors) < len(bad):
                    await asyncio.sleep(0.05)
            await asyncio.wait_for(wait(), 10)
            assert all("invalid OTRv4 stanza dropped" in e.reason for e in j1.errors)
            assert j1.received == []
        finally:
            await cast.close()
    run(scenario)


def test_disconnect_tlv_ends_only_that_pair(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "tlv1")
        try:
            await _two_accounts(cast, juliet=1, romeo=2)
            await _all_sessions(cast)
            j1, r1, r2 = cast["juliet/j1"], cast["romeo/r1"], cast["romeo/r2"]
            await j1.otr.end_session(ROMEO, r1.otr.instance_tag)

            async def ended() -> None:
                while r1.otr.engine.has_session(JULIET, j1.otr.instance_tag):
                    await asyncio.sleep(0.05)
            await asyncio.wait_for(ended(), 10)
            assert r2.otr.engine.has_session(JULIET, j1.otr.instance_tag)
            report = await j1.otr.send_message(ROMEO, "still here")
            assert report.recipients == ((ROMEO, r2.otr.instance_tag),)
            assert report.missing == ((ROMEO, r1.otr.instance_tag),)
            got = await collect([r2], "still here")
            assert len(got[r2.boundjid.full]) == 1
            # With no session left, sending is refused rather than silently dropped.
            await j1.otr.end_session(ROMEO, r2.otr.instance_tag)
            with pytest.raises(NoRecipientsError):
                await j1.otr.send_message(ROMEO, "anyone?")
        finally:
            await cast.close()
    run(scenario)


def test_a_device_missing_from_its_own_list_joins_again(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "rejoin")
        try:
            await cast.online("juliet/j1", "juliet/j2")
            j1, j2 = cast["juliet/j1"], cast["juliet/j2"]
            current = await j2.otr.fetch_devices(JULIET)
            assert j1.otr.instance_tag in current.tags
            # j2 publishes a list without j1 (as a buggy or racing client could).
            without = devices.leave(current, j1.otr.instance_tag)
            await j2.otr.publish_device_list(without)

            async def back() -> None:
                while j1.otr.instance_tag not in (await j2.otr.fetch_devices(JULIET)).tags:
                    await asyncio.sleep(0.1)
            await asyncio.wait_for(back(), 10)
        finally:
            await cast.close()
    run(scenario)


def etree_to_et(xml: str) -> ET.Element:
    """An xml.etree element (what slixmpp stanzas hold) from text."""
    etree.fromstring(xml)  # well-formed
    return ET.fromstring(xml)


def test_instance_tag_collision_makes_the_later_device_draw_a_new_tag(
        prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "collision")
        try:
            # Two devices whose randomness is the same stream draw the same first tag.
            for name in ("juliet/a", "juliet/b"):
                user, resource = name.split("/")
                cast.devices[name] = Otr4Client(
                    prosody.jid(user, resource), prosody.password(user),
                    rng=DeterministicRng("the same stream"), label=resource, plaintext=True)
            first_b = cast["juliet/b"].otr.instance_tag
            assert cast["juliet/a"].otr.instance_tag == first_b
            await cast.online("juliet/a", "juliet/b")
            a, b = cast["juliet/a"].otr, cast["juliet/b"].otr
            assert b.instance_tag != first_b  # the later device moved
            listed = await a.fetch_devices(JULIET)
            assert sorted(listed.tags) == sorted([a.instance_tag, b.instance_tag])
            entry = listed.find(b.instance_tag)
            assert entry is not None and entry.label == "b"
        finally:
            await cast.close()
    run(scenario)
