"""The prekey service as an XEP-0114 component on a real Prosody (loopback).

Juliet's device discovers the service through her domain, checks its
fingerprint, publishes over the IQ protocol; Romeo retrieves her ensembles
until they run out and gets the No Prekey Ensembles answer; broken requests
get the IQ errors of ``urn:xmpp:otr4:prekey:0``.  Every stanza the component
sends is validated against the project's schemas.
"""

from __future__ import annotations

import asyncio
import base64
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lxml import etree
from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError

from otrv4.clock import SystemClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey import client as pc
from otrv4_prekey.messages import EnsembleQuery
from otrv4_prekey.retrieval import Ensembles, Exhausted, read_answer
from otrv4_prekey.storage import SqliteStorage
from otrv4_xmpp.component import PrekeyComponent, build_server, load_or_create_key
from otrv4_xmpp.discovery import parse_disco_info_result
from otrv4_xmpp.namespaces import NS_DISCO_INFO
from otrv4_xmpp.prekey import (
    NS_DISCO_ITEMS,
    NS_PREKEY,
    PrekeyCondition,
    find_fingerprint,
    is_prekey_service,
    parse_disco_items,
    parse_prekey_error,
    parse_prekey_iq,
)
from otrv4_xmpp.validation import StanzaValidator
from tests.prekey_server.helpers import make_device

from .component_process import client, connect, lxml_of
from .conftest import ProsodyServer

T = TypeVar("T")
STEP = 20.0


def _run(factory: Callable[[], Awaitable[T]], timeout: float = 90.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), timeout)
    return asyncio.run(bounded())


async def _query(c: ClientXMPP, to: str, ns: str) -> etree._Element:
    iq = c.make_iq_get(queryxmlns=ns, ito=to)
    return lxml_of(await iq.send(timeout=STEP))  # type: ignore[no-untyped-call]


def _exchange(c: ClientXMPP, to: str, seen: list[etree._Element]) -> Callable[[bytes], Any]:
    async def send(data: bytes) -> bytes:
        iq = c.make_iq_set(ito=to)
        el = ET.SubElement(iq.xml, f"{{{NS_PREKEY}}}prekey")
        el.text = base64.b64encode(data).decode()
        result = lxml_of(await iq.send(timeout=STEP))  # type: ignore[no-untyped-call]
        seen.append(result)
        return parse_prekey_iq(result).message
    return send


def test_discovery_publication_and_retrieval(prosody: ProsodyServer, tmp_path: Path,
                                             own_validator: StanzaValidator) -> None:
    rng = DeterministicRng("integration:prekey-component")
    clock = SystemClock()
    storage = SqliteStorage(tmp_path / "prekeys.sqlite")
    keypair = load_or_create_key(tmp_path / "prekeys.key", rng)
    assert load_or_create_key(tmp_path / "prekeys.key", rng) == keypair  # kept on disk
    service = prosody.component_jid
    server = build_server(service, keypair, storage, rng=rng, clock=clock)
    seen: list[etree._Element] = []

    async def scenario() -> None:
        component = PrekeyComponent(service, prosody.component_secret, server)
        juliet = client(prosody, "juliet", "balcony")
        romeo = client(prosody, "romeo", "orchard")
        try:
            await connect(component, "127.0.0.1", prosody.component_port)
            await connect(juliet, "127.0.0.1", prosody.c2s_port)
            await connect(romeo, "127.0.0.1", prosody.c2s_port)

            # discovery: the domain's items, the service's info, its fingerprint item
            items = parse_disco_items(await _query(juliet, prosody.domain, NS_DISCO_ITEMS))
            assert service in {i.jid for i in items}
            info_iq = await _query(juliet, service, NS_DISCO_INFO)
            seen.append(info_iq)
            assert is_prekey_service(parse_disco_info_result(info_iq))
            fp_iq = await _query(juliet, service, NS_DISCO_ITEMS)
            seen.append(fp_iq)
            fingerprint = find_fingerprint(parse_disco_items(fp_iq), service)
            assert fingerprint == server.identity.fingerprint

            # publication: the DAKE over IQs, pinned to the discovered fingerprint
            device = make_device(rng, prosody.jid("juliet"), expiration=clock.now() + 86400)
            publisher = pc.PublisherClient(device.identity, service, rng, fingerprint)
            send = _exchange(juliet, service, seen)
            dake2 = await send(publisher.start())
            prekeys = device.prekeys(rng, 2)
            reply = await send(publisher.publish(
                dake2, prekeys, client_profile=device.identity.client_profile,
                prekey_profile=device.shared))
            assert publisher.finish(reply).MESSAGE_TYPE == 0x06  # Success
            dake2 = await send(publisher.start())
            status_dake3 = publisher.request_status(dake2)
            status = publisher.finish(await send(status_dake3))
            assert getattr(status, "stored", None) == 2

            # retrieval by another user: two ensembles, each prekey once, then none
            fetch = _exchange(romeo, service, seen)
            romeo_tag = 0x0000_0A0B
            got: list[int] = []
            for _ in range(2):
                answer = read_answer(
                    await fetch(EnsembleQuery(romeo_tag, prosody.jid("juliet")).encode()),
                    romeo_tag, prosody.jid("juliet"), clock)
                assert isinstance(answer, Ensembles)
                assert list(answer.by_tag) == [device.tag]
                got.append(answer.by_tag[device.tag].prekey_message.identifier)
            assert sorted(got) == sorted(p.identifier for p in prekeys)
            none = read_answer(
                await fetch(EnsembleQuery(romeo_tag, prosody.jid("juliet")).encode()),
                romeo_tag, prosody.jid("juliet"), clock)
            assert isinstance(none, Exhausted)
            plan = pc.offline_start_plan(none, known_devices=[device.tag])
            assert plan.wait_for_online == (device.tag,)  # fall back to the interactive DAKE

            # errors: a DAKE-3 out of state (a replay), garbage
            with pytest.raises(IqError) as caught:
                await send(status_dake3)
            err = lxml_of(caught.value.iq)
            seen.append(err)
            parsed = parse_prekey_error(err)
            assert parsed.condition is PrekeyCondition.NOT_IN_DAKE
            assert parsed.stanza_condition == "unexpected-request"
            with pytest.raises(IqError) as caught:
                await send(b"\x00\x04\x10garbage")
            err = lxml_of(caught.value.iq)
            seen.append(err)
            assert parse_prekey_error(err).condition is PrekeyCondition.MALFORMED_MESSAGE
        finally:
            for xmpp in (juliet, romeo, component):
                if xmpp.is_connected():
                    xmpp.disconnect()
            await asyncio.sleep(0.2)

    _run(scenario)
    # what the component sent is valid against our schemas (jabber:client form)
    for stanza in seen:
        for el in stanza.iter():
            if isinstance(el.tag, str) and el.tag.startswith("{jabber:component:accept}"):
                pytest.fail("a component-namespace element leaked to the client")
        text = etree.tostring(stanza).decode()
        report = own_validator.validate_text(text, "component")
        assert report.ok, report.violations
    assert len(seen) >= 10
    storage.close()


def test_the_command_line_component_serves(prosody: ProsodyServer, tmp_path: Path) -> None:
    """``python -m otrv4_xmpp.component`` connects, prints its fingerprint, answers disco."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "spec_impl"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "otrv4_xmpp.component", "--jid", prosody.component_jid,
         "--secret", prosody.component_secret, "--host", "127.0.0.1",
         "--port", str(prosody.component_port), "--db", str(tmp_path / "cli.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"prekey service {prosody.component_jid}, fingerprint ")
        printed = first.rsplit(" ", 1)[1].strip()
        assert len(printed) == 112
        assert (tmp_path / "cli.sqlite.key").is_file()

        async def ask() -> bytes:
            romeo = client(prosody, "romeo", "cli")
            try:
                await connect(romeo, "127.0.0.1", prosody.c2s_port)
                for _ in range(50):  # the component may still be handshaking
                    try:
                        items = await _query(romeo, prosody.component_jid, NS_DISCO_ITEMS)
                        return find_fingerprint(parse_disco_items(items),
                                                prosody.component_jid)
                    except IqError:
                        await asyncio.sleep(0.1)
                raise AssertionError("the component never answered")
            finally:
                romeo.disconnect()
                await asyncio.sleep(0.1)

        assert _run(ask, 60).hex().upper() == printed
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
