"""The transport-free server with the client: publication DAKE both sides, the state
machine, failures, exhaustion and the sender's fallback, the replenishment policy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from otrv4.clock import FixedClock
from otrv4.encoding import TruncatedError
from otrv4.instance_tag import InvalidSenderTagError, ReceiverTagMismatchError
from otrv4.messages import PrekeyMessage
from otrv4.primitives.ring_signature import InvalidRingSignatureError
from otrv4_prekey import client as pc
from otrv4_prekey.client import (
    ClientNotInDakeError,
    PublicationFailedError,
    PublisherClient,
    offline_start_plan,
    prekeys_to_publish,
)
from otrv4_prekey.dake import ServerFingerprintMismatchError
from otrv4_prekey.messages import (
    Dake3,
    EnsembleQuery,
    Failure,
    NoPrekeyEnsembles,
    StorageStatus,
    Success,
    WrongPrekeyServerMessageTypeError,
    decode_message,
)
from otrv4_prekey.publication import (
    PrekeyMacMismatchError,
    ReplyMacMismatchError,
    StorageRequestMacMismatchError,
    failure,
)
from otrv4_prekey.retrieval import (
    Ensembles,
    Exhausted,
    NoUsableEnsembleError,
    RetrievalIdentityMismatchError,
    read_answer,
)
from otrv4_prekey.server import (
    DakeState,
    ForeignPublisherError,
    MessageTooLargeError,
    NotInDakeError,
    RateLimitedError,
    ServerPolicy,
    UnexpectedMessageError,
)
from otrv4_prekey.storage import SqliteStorage, StorageFullError

from .helpers import NOW, Device, client_for, exchange_for, make_device, make_server, rng

JULIET = "juliet@capulet.lit"
ROMEO_TAG = 0x0000_ABCD


def _setup(label: str, **policy: object):  # type: ignore[no-untyped-def]
    r = rng(label)
    clock = FixedClock(NOW)
    server = make_server(r, clock, policy=ServerPolicy(
        publisher_domains=frozenset({"capulet.lit"}), **policy))  # type: ignore[arg-type]
    return r, clock, server


def _publish(device: Device, server, r, n: int) -> None:  # type: ignore[no-untyped-def]
    c = client_for(device, server, r)
    pc.publish(c, exchange_for(server, device.identity.jid), device.prekeys(r, n),
               client_profile=device.identity.client_profile, prekey_profile=device.shared)


def _state(client: PublisherClient) -> DakeState:
    return client.state


def test_publication_dake_both_sides_and_state_machine() -> None:
    r, _clock, server = _setup("sm")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    assert _state(client) is DakeState.NOT_IN_DAKE
    assert server.state_of(JULIET, juliet.tag) is DakeState.NOT_IN_DAKE
    dake1 = client.start()
    assert _state(client) is DakeState.IN_DAKE
    reply = server.handle(JULIET, dake1)
    assert server.state_of(JULIET, juliet.tag) is DakeState.IN_DAKE
    prekeys = juliet.prekeys(r, 5)
    dake3 = client.publish(reply.encode(), prekeys, client_profile=juliet.identity.client_profile,
                           prekey_profile=juliet.shared)
    assert _state(client) is DakeState.NOT_IN_DAKE
    answer = server.handle(JULIET, dake3)
    assert answer.failure is None
    assert server.state_of(JULIET, juliet.tag) is DakeState.NOT_IN_DAKE
    assert isinstance(client.finish(answer.encode()), Success)
    assert server.storage.count(JULIET, juliet.tag) == 5
    # a second DAKE-3 (replay) finds the server NOT_IN_DAKE and is ignored
    with pytest.raises(NotInDakeError):
        server.handle(JULIET, dake3)
    with pytest.raises(ClientNotInDakeError):
        client.finish(answer.encode())
    # storage status through the same machinery
    assert pc.storage_status(client, exchange_for(server, JULIET)) == 5


def test_a_rejected_dake3_keeps_the_server_in_dake() -> None:
    r, _clock, server = _setup("reject")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    dake2 = server.handle(JULIET, client.start()).encode()
    good = Dake3.decode(client.request_status(dake2))
    values = list(good.sigma.scalars())
    values[0] += 1
    from otrv4.primitives.ring_signature import RingSignature
    bad = dataclasses.replace(good, sigma=RingSignature(*values))
    with pytest.raises(InvalidRingSignatureError):
        server.handle(JULIET, bad.encode())
    assert server.state_of(JULIET, juliet.tag) is DakeState.IN_DAKE
    # the same DAKE-3 from another JID is not this device's DAKE
    with pytest.raises(NotInDakeError):
        server.handle("juliet@capulet.lit/other", good.encode())
    status = client.finish(server.handle(JULIET, good.encode()).encode())
    assert isinstance(status, StorageStatus) and status.stored == 0


def test_failures_after_the_dake_are_macd_failure_messages() -> None:
    r, _clock, server = _setup("failure")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    dake2 = server.handle(JULIET, client.start()).encode()
    dake3 = Dake3.decode(client.request_status(dake2))
    tampered = Dake3(dake3.sender_tag, dake3.sigma, dake3.message[:-1] + b"\x00")
    reply = server.handle(JULIET, tampered.encode())
    assert isinstance(reply.message, Failure)
    assert isinstance(reply.failure, StorageRequestMacMismatchError)
    with pytest.raises(PublicationFailedError):
        client.finish(reply.encode())
    # publication MAC broken
    dake2 = server.handle(JULIET, client.start()).encode()
    dake3 = Dake3.decode(client.publish(dake2, juliet.prekeys(r, 2)))
    tampered = Dake3(dake3.sender_tag, dake3.sigma, dake3.message[:-1] + b"\xff")
    reply = server.handle(JULIET, tampered.encode())
    assert isinstance(reply.failure, PrekeyMacMismatchError)
    # attached message that does not decode
    dake2 = server.handle(JULIET, client.start()).encode()
    dake3 = Dake3.decode(client.request_status(dake2))
    reply = server.handle(JULIET, Dake3(dake3.sender_tag, dake3.sigma, b"\x00\x04").encode())
    assert isinstance(reply.failure, TruncatedError)
    assert server.storage.count(JULIET, juliet.tag) == 0


def test_a_forged_failure_is_ignored_by_the_client() -> None:
    r, _clock, server = _setup("forged")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    dake2 = server.handle(JULIET, client.start()).encode()
    client.request_status(dake2)
    with pytest.raises(ReplyMacMismatchError):
        client.finish(failure(b"\x00" * 64, juliet.tag).encode())
    with pytest.raises(WrongPrekeyServerMessageTypeError):
        client.finish(NoPrekeyEnsembles(juliet.tag, JULIET).encode())


def test_who_may_publish_and_what_clients_may_send() -> None:
    r, clock, server = _setup("who")
    juliet = make_device(r, JULIET)
    mallory = make_device(r, "mallory@evil.lit")
    with pytest.raises(ForeignPublisherError):
        server.handle("mallory@evil.lit", client_for(mallory, server, r).start())
    client = client_for(juliet, server, r)
    dake2 = server.handle(JULIET, client.start())
    with pytest.raises(UnexpectedMessageError):
        server.handle(JULIET, dake2.encode())  # a DAKE-2 sent to the server
    with pytest.raises(UnexpectedMessageError):
        server.handle(JULIET, NoPrekeyEnsembles(0x100, JULIET).encode())
    small = make_server(r, clock, policy=ServerPolicy(max_message_bytes=100))
    with pytest.raises(MessageTooLargeError):
        small.handle(JULIET, client.start())


def test_the_client_checks_the_servers_fingerprint() -> None:
    r, _clock, server = _setup("fpr")
    juliet = make_device(r, JULIET)
    client = PublisherClient(juliet.identity, server.identity.jid, r, b"\x00" * 56)
    dake2 = server.handle(JULIET, client.start()).encode()
    with pytest.raises(ServerFingerprintMismatchError):
        client.publish(dake2, [])
    assert client.state is DakeState.IN_DAKE  # nothing changed


def test_retrieval_serves_each_prekey_once_then_no_ensembles() -> None:
    r, clock, server = _setup("exhaust")
    juliet = make_device(r, JULIET)
    juliet2 = make_device(r, JULIET)
    _publish(juliet, server, r, 2)
    _publish(juliet2, server, r, 1)
    romeo = exchange_for(server, "romeo@montague.lit")
    seen: list[int] = []
    first = pc.fetch_ensembles(romeo, ROMEO_TAG, JULIET, clock)
    assert isinstance(first, Ensembles)
    assert sorted(first.by_tag) == sorted([juliet.tag, juliet2.tag])
    seen += [e.prekey_message.identifier for e in first.by_tag.values()]
    second = pc.fetch_ensembles(romeo, ROMEO_TAG, JULIET, clock)
    assert isinstance(second, Ensembles)
    assert list(second.by_tag) == [juliet.tag]  # juliet2 ran out
    seen += [e.prekey_message.identifier for e in second.by_tag.values()]
    assert len(seen) == len(set(seen)) == 3
    third = pc.fetch_ensembles(romeo, ROMEO_TAG, JULIET, clock)
    assert isinstance(third, Exhausted)
    assert third.text == "No Prekey Messages available for this identity"
    # the fallback: no non-interactive DAKE, wait for both devices to come online
    plan = offline_start_plan(third, known_devices=[juliet.tag, juliet2.tag])
    assert plan.non_interactive == {}
    assert plan.wait_for_online == tuple(sorted([juliet.tag, juliet2.tag]))
    plan2 = offline_start_plan(second, known_devices=[juliet.tag, juliet2.tag])
    assert list(plan2.non_interactive) == [juliet.tag]
    assert plan2.wait_for_online == (juliet2.tag,)
    plan3 = offline_start_plan(first, known_devices=[juliet.tag, juliet2.tag],
                               interactive_only=[juliet2.tag])
    assert list(plan3.non_interactive) == [juliet.tag]
    assert plan3.wait_for_online == (juliet2.tag,)


def test_an_ensemble_from_the_server_starts_a_non_interactive_dake() -> None:
    """End to end: the ensemble Romeo retrieved lets Juliet's device finish XZDH."""
    from otrv4.dake import DakeContext, Participant
    from otrv4.xzdh import receive_non_interactive_auth, send_non_interactive_auth
    r, clock, server = _setup("xzdh")
    juliet = make_device(r, JULIET)
    prekeys = juliet.prekeys(r, 1)
    c = client_for(juliet, server, r)
    pc.publish(c, exchange_for(server, JULIET), prekeys,
               client_profile=juliet.identity.client_profile, prekey_profile=juliet.shared)
    local = juliet.local.with_prekeys(prekeys)
    romeo = make_device(r, "romeo@montague.lit")
    answer = pc.fetch_ensembles(exchange_for(server, "romeo@montague.lit"), romeo.tag, JULIET,
                                clock)
    assert isinstance(answer, Ensembles)
    ensemble = answer.by_tag[juliet.tag]
    ctx_r = DakeContext(Participant(romeo.identity.keypair,
                                    romeo.identity.client_profile.forging_key,
                                    romeo.identity.client_profile),
                        "romeo@montague.lit", JULIET, clock)
    ctx_j = DakeContext(Participant(juliet.identity.keypair,
                                    juliet.identity.client_profile.forging_key,
                                    juliet.identity.client_profile),
                        JULIET, "romeo@montague.lit", clock)
    nia, sent = send_non_interactive_auth(ctx_r, ensemble, r)
    remaining, got = receive_non_interactive_auth(ctx_j, local, nia.encode())
    assert got.result.ssid == sent.result.ssid
    assert got.keys.dake_secret == sent.keys.dake_secret
    assert remaining.prekeys == ()


def test_retriever_checks_the_answer() -> None:
    r, clock, server = _setup("checks")
    juliet = make_device(r, JULIET)
    _publish(juliet, server, r, 3)
    answer = server.handle("romeo@montague.lit", EnsembleQuery(ROMEO_TAG, JULIET).encode())
    data = answer.encode()
    with pytest.raises(ReceiverTagMismatchError):
        read_answer(data, ROMEO_TAG + 1, JULIET, clock)
    with pytest.raises(RetrievalIdentityMismatchError):
        read_answer(data, ROMEO_TAG, "nurse@capulet.lit", clock)
    with pytest.raises(NoUsableEnsembleError):
        read_answer(data, ROMEO_TAG, JULIET, FixedClock(NOW + 60 * 24 * 3600))  # all expired
    none = NoPrekeyEnsembles(ROMEO_TAG, "nurse@capulet.lit").encode()
    with pytest.raises(RetrievalIdentityMismatchError):
        read_answer(none, ROMEO_TAG, JULIET, clock)
    with pytest.raises(WrongPrekeyServerMessageTypeError):
        read_answer(Success(ROMEO_TAG, b"\x00" * 64).encode(), ROMEO_TAG, JULIET, clock)
    with pytest.raises(InvalidSenderTagError):
        server.handle("romeo@montague.lit", EnsembleQuery(0x42, JULIET).encode())
    v5 = server.handle("romeo@montague.lit", EnsembleQuery(ROMEO_TAG, JULIET, b"5").encode())
    assert isinstance(v5.message, NoPrekeyEnsembles)  # unknown versions are ignored
    assert server.storage.count(JULIET, juliet.tag) == 2


def test_retrievals_are_rate_limited_per_requester() -> None:
    _r, clock, server = _setup("rate", retrievals_per_minute=3)
    q = EnsembleQuery(ROMEO_TAG, JULIET).encode()
    for _ in range(3):
        server.handle("romeo@montague.lit", q)
    with pytest.raises(RateLimitedError):
        server.handle("romeo@montague.lit", q)
    server.handle("benvolio@montague.lit", q)  # others are not affected
    clock.advance(60)
    server.handle("romeo@montague.lit", q)


def test_full_storage_is_a_failure_and_stores_nothing(tmp_path: Path) -> None:
    r = rng("full")
    clock = FixedClock(NOW)
    server = make_server(r, clock, storage=SqliteStorage(tmp_path / "full.sqlite"),
                         policy=ServerPolicy(max_stored_per_device=4))
    juliet = make_device(r, JULIET)
    _publish(juliet, server, r, 3)
    client = client_for(juliet, server, r)
    dake2 = server.handle(JULIET, client.start()).encode()
    reply = server.handle(JULIET, client.publish(dake2, juliet.prekeys(r, 2)))
    assert isinstance(reply.failure, StorageFullError)
    assert server.storage.count(JULIET, juliet.tag) == 3


def test_replenish_policy() -> None:
    assert prekeys_to_publish(0) == 100
    assert prekeys_to_publish(19) == 81
    assert prekeys_to_publish(20) == 0
    assert prekeys_to_publish(99) == 0
    r, clock, server = _setup("replenish")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    ex = exchange_for(server, JULIET)
    local, n = pc.replenish(client, ex, juliet.local, r, publish_profiles=True)
    assert n == 100 and len(local.prekeys) == 100
    assert server.storage.count(JULIET, juliet.tag) == 100
    same, n2 = pc.replenish(client, ex, local, r)
    assert n2 == 0 and same is local
    romeo = exchange_for(server, "romeo@montague.lit")
    for _ in range(81):
        answer = pc.fetch_ensembles(romeo, ROMEO_TAG, JULIET, clock)
        assert isinstance(answer, Ensembles)
        clock.advance(1)  # stay under the rate limit
    assert server.storage.count(JULIET, juliet.tag) == 19
    local2, n3 = pc.replenish(client, ex, local, r)
    assert n3 == 81 and server.storage.count(JULIET, juliet.tag) == 100
    ids = [p.identifier for p in local2.prekeys]
    assert len(ids) == len(set(ids)) == 181


def test_answers_decode_as_their_types() -> None:
    r, _clock, server = _setup("types")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    reply = server.handle(JULIET, client.start())
    assert decode_message(reply.encode()) == reply.message
    assert isinstance(PrekeyMessage, type)


def test_concurrent_replays_of_one_dake3_store_once() -> None:
    """Two threads deliver the same DAKE-3: one completes the DAKE, the other finds it over."""
    import threading
    r, _clock, server = _setup("race")
    juliet = make_device(r, JULIET)
    client = client_for(juliet, server, r)
    dake2 = server.handle(JULIET, client.start()).encode()
    dake3 = client.publish(dake2, juliet.prekeys(r, 3))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        try:
            reply = server.handle(JULIET, dake3)
            outcomes.append(type(reply.message).__name__)
        except NotInDakeError:
            outcomes.append("NotInDakeError")

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["NotInDakeError", "Success"]
    assert server.storage.count(JULIET, juliet.tag) == 3


def test_expired_profiles_are_cleaned_up_hourly() -> None:
    r, clock, server = _setup("cleanup")
    short = make_device(r, JULIET, expiration=NOW + 10)
    _publish(short, server, r, 1)
    assert server.cleanup() == 0
    clock.advance(3600)  # the profiles expired; the next request triggers the cleanup
    server.handle("romeo@montague.lit", EnsembleQuery(ROMEO_TAG, JULIET).encode())
    assert server.storage.delete_expired(clock.now()) == 0  # already deleted by handle
    assert server.cleanup() == 0
