"""Fixtures of the prekey-server tests: one set of real messages, built once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from otrv4.clock import FixedClock
from otrv4_prekey.client import PublisherClient
from otrv4_prekey.dake import PublisherSession, ServerDake, receive_dake2, respond, start
from otrv4_prekey.messages import (
    Dake1,
    Dake2,
    Dake3,
    EnsembleQuery,
    EnsembleRetrieval,
    NoPrekeyEnsembles,
    PrekeyPublication,
    PrekeyServerMessage,
    StorageInformationRequest,
    StorageStatus,
)
from otrv4_prekey.publication import (
    build_publication,
    build_storage_request,
    failure,
    storage_status,
    success,
)
from otrv4_prekey.retrieval import answer_query
from otrv4_prekey.server import PrekeyServer
from otrv4_prekey.storage import InMemoryStorage, StoredProfile

from .helpers import NOW, Device, make_device, make_server, rng
from .pgserver import postgres_server  # noqa: F401  (the session's PostgreSQL, a fixture)


@dataclass
class World:
    """A server, Juliet's device, and one of each message from a real run."""

    clock: FixedClock
    server: PrekeyServer
    juliet: Device
    server_dake: ServerDake
    session: PublisherSession
    dake1: Dake1
    dake2: Dake2
    dake3: Dake3
    publication: PrekeyPublication
    storage_request: StorageInformationRequest
    retrieval: EnsembleRetrieval
    messages: dict[str, PrekeyServerMessage]


@pytest.fixture(scope="session")
def world() -> World:
    r = rng("world")
    clock = FixedClock(NOW)
    server = make_server(r, clock)
    juliet = make_device(r, "juliet@capulet.lit")
    state = start(juliet.identity, server.identity.jid, r, server.identity.fingerprint)
    server_dake, dake2 = respond(server.identity, "juliet@capulet.lit", state.dake1, r, clock)
    session = receive_dake2(state, dake2)
    prekeys = juliet.prekeys(r, 3)
    publication = build_publication(session.sk, prekeys, r,
                                    client_profile=juliet.identity.client_profile,
                                    prekey_profile=juliet.shared)
    dake3 = session.dake3(publication.encode(), r)
    request = build_storage_request(session.prekey_mac_k)
    storage = InMemoryStorage()
    storage.publish("juliet@capulet.lit", juliet.tag,
                    client_profile=StoredProfile(juliet.identity.client_profile.encode(),
                                                 juliet.identity.client_profile.expiration),
                    prekey_profile=StoredProfile(juliet.shared.profile.encode(),
                                                 juliet.shared.profile.expiration),
                    prekey_messages=[(p.identifier, p.message.encode()) for p in prekeys])
    query = EnsembleQuery(0x0000_0ABC, "juliet@capulet.lit")
    retrieval = answer_query(query, storage, clock)
    assert isinstance(retrieval, EnsembleRetrieval)
    mac_k = session.prekey_mac_k
    messages: dict[str, PrekeyServerMessage] = {
        "dake1": state.dake1, "dake2": dake2, "dake3": dake3, "publication": publication,
        "storage_request": request, "storage_status": storage_status(mac_k, juliet.tag, 7),
        "success": success(mac_k, juliet.tag), "failure": failure(mac_k, juliet.tag),
        "query": query, "retrieval": retrieval,
        "no_ensembles": NoPrekeyEnsembles(0x0000_0ABC, "romeo@montague.lit"),
        "publication_prekeys_only": build_publication(session.sk, prekeys[:1], r),
        "publication_empty": build_publication(session.sk, [], r),
    }
    assert isinstance(messages["storage_status"], StorageStatus)
    return World(clock, server, juliet, server_dake, session, state.dake1, dake2, dake3,
                 publication, request, retrieval, messages)


@pytest.fixture
def fresh_client(world: World) -> PublisherClient:
    return PublisherClient(world.juliet.identity, world.server.identity.jid, rng("fresh"),
                           world.server.identity.fingerprint)
