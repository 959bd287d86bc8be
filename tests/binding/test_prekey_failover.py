"""The prekey agent fails over between instances of one domain's prekey service
(binding §Several Instances of the Service): an instance that times out or is
unavailable is left for the next; a publication whose answer was lost is not sent
again (new Prekey messages are drawn, the old secrets stay kept).

The service instances are real :class:`otrv4_prekey.server.PrekeyServer` objects over
one shared storage with one key, answering through the binding's IQ handler; only the
XMPP stream is replaced by a small stand-in.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from lxml import etree
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import Iq

from otrv4.clock import FixedClock
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.dake import ServerIdentity
from otrv4_prekey.server import PrekeyServer, ServerPolicy
from otrv4_prekey.storage import InMemoryStorage
from otrv4_xmpp.engine import DeviceIdentity
from otrv4_xmpp.prekey import handle_prekey_iq
from otrv4_xmpp.slixmpp_plugin.device import LocalDevice
from otrv4_xmpp.slixmpp_plugin.errors import NoPrekeyServiceError
from otrv4_xmpp.slixmpp_plugin.prekey_agent import PrekeyAgent

NOW = 1776945600
ME = "juliet@capulet.lit/balcony"
A, B = "prekeys1.capulet.lit", "prekeys2.capulet.lit"


class FakeIO:
    """The agent's view of the stream: ids, the own JIDs, and IQs answered by ``route``."""

    domain = "capulet.lit"
    bare = "juliet@capulet.lit"
    full = ME

    def __init__(self, route: Callable[[etree._Element], etree._Element]) -> None:
        self.route = route
        self.sent: list[str] = []
        self.errors: list[str] = []
        self._n = 0

    def new_id(self) -> str:
        self._n += 1
        return f"id{self._n}"

    async def send_iq(self, el: etree._Element) -> etree._Element:
        el.set("from", ME)
        self.sent.append(el.get("to", ""))
        return self.route(el)

    def error(self, sender: str, reason: str, exc: BaseException | None = None) -> None:
        self.errors.append(reason)


def _iq(xml: str) -> Iq:
    return Iq(xml=ET.fromstring(xml))  # type: ignore[no-untyped-call]


def unavailable(el: etree._Element, condition: str = "remote-server-timeout") -> IqError:
    return IqError(_iq(  # type: ignore[no-untyped-call]
        f"<iq xmlns='jabber:client' type='error' id='{el.get('id')}' from='{el.get('to')}'>"
        f"<error type='wait'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></iq>"))


@pytest.fixture
def cluster() -> dict[str, PrekeyServer]:
    rng, clock = DeterministicRng("failover/service"), FixedClock(NOW)
    key, storage = EdDSAKeyPair.generate(rng), InMemoryStorage()
    policy = ServerPolicy(publisher_domains=frozenset({"capulet.lit"}))
    return {jid: PrekeyServer(ServerIdentity(jid, key), storage, rng, clock, policy)
            for jid in (A, B)}


def _agent(route: Callable[[etree._Element], etree._Element],
           cluster: dict[str, PrekeyServer]) -> tuple[PrekeyAgent, FakeIO]:
    rng, clock = DeterministicRng("failover/device"), FixedClock(NOW)
    device = LocalDevice(DeviceIdentity.generate(rng, clock), "juliet@capulet.lit",
                         rng=rng, clock=clock)
    io = FakeIO(route)
    agent = PrekeyAgent(io, device, {})  # type: ignore[arg-type]
    instances = [(jid, server.identity.fingerprint) for jid, server in cluster.items()]

    async def find_services(domain: str | None = None) -> list[tuple[str, bytes]]:
        return instances

    agent.find_services = find_services  # type: ignore[method-assign]
    return agent, io


def _answer(cluster: dict[str, PrekeyServer], el: etree._Element) -> etree._Element:
    """The instance's answer; an IQ error is raised, as slixmpp does."""
    answer = handle_prekey_iq(cluster[el.get("to", "")], el, "juliet@capulet.lit")
    if answer.get("type") == "error":
        raise IqError(_iq(etree.tostring(answer).decode()))  # type: ignore[no-untyped-call]
    return answer


def test_a_publication_moves_to_the_next_instance_when_one_times_out(
        cluster: dict[str, PrekeyServer]) -> None:
    def route(el: etree._Element) -> etree._Element:
        if el.get("to") == A:
            raise IqTimeout(_iq(f"<iq xmlns='jabber:client' type='set' id='{el.get('id')}'/>"))  # type: ignore[no-untyped-call]
        return _answer(cluster, el)

    agent, io = _agent(route, cluster)
    assert asyncio.run(agent.publish(3)) == 3
    assert io.sent[0] == A and set(io.sent[1:]) == {B}
    assert asyncio.run(agent.status()) == 3  # both instances see one storage


def test_a_lost_publication_answer_is_not_sent_again(cluster: dict[str, PrekeyServer]) -> None:
    lost: dict[str, bytes] = {}

    def route(el: etree._Element) -> etree._Element:
        answer = _answer(cluster, el)
        if el.get("to") == A and io.sent.count(A) == 2:  # DAKE-3 stored, answer lost
            lost["request"] = etree.tostring(el)
            raise unavailable(el)
        return answer

    agent, io = _agent(route, cluster)
    assert asyncio.run(agent.publish(2)) == 2
    kept = agent.device.engine.local_prekeys.prekeys
    assert len(kept) == 4  # the two of the lost answer stay kept, two new ones were drawn
    assert asyncio.run(agent.status()) == 4  # instance A had stored its two
    assert lost and io.sent[:2] == [A, A] and io.sent[2:4] == [B, B]


def test_a_prekey_error_is_an_answer_not_an_outage(cluster: dict[str, PrekeyServer]) -> None:
    from otrv4_xmpp.prekey import PrekeyIqError

    def route(el: etree._Element) -> etree._Element:
        data = etree.fromstring(etree.tostring(el))
        data[0].text = "AAQ1AAAA"  # a message the service cannot decode
        return _answer(cluster, data)

    agent, io = _agent(route, cluster)
    with pytest.raises(PrekeyIqError):
        asyncio.run(agent.status())
    assert io.sent == [A]


def test_no_instance_answers(cluster: dict[str, PrekeyServer]) -> None:
    def route(el: etree._Element) -> etree._Element:
        raise unavailable(el, "service-unavailable")

    agent, io = _agent(route, cluster)
    with pytest.raises(NoPrekeyServiceError, match="no instance"):
        asyncio.run(agent.fetch_ensembles("romeo@montague.lit"))
    assert io.sent == [A, B]


