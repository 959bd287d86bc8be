"""The trust model (:mod:`otrv4_xmpp.trust`) and the engine honouring it on every path
that encrypts to a device: a session with a peer device (online), a non-interactive
DAKE from a Prekey Ensemble (offline), a session with the own account's other device."""

from __future__ import annotations

from pathlib import Path

import pytest

from otrv4.clock import FixedClock
from otrv4.encoding import MessageType, peek_message_type
from otrv4.primitives.rng import DeterministicRng
from otrv4.smp import SmpOutcome
from otrv4_xmpp.engine import DeviceEngine, DeviceIdentity, NoSessionError, Outcome, bare_of
from otrv4_xmpp.trust import (
    JsonFileRecords,
    MemoryTrustStore,
    RecordTrustStore,
    Trust,
    TrustError,
    TrustLevel,
    TrustPolicy,
    TrustRecord,
    UnknownDeviceError,
    UntrustedDeviceError,
    profile_fingerprint,
)

NOW = 1_800_000_000
J1, J2, R1 = "juliet@localhost/balcony", "juliet@localhost/phone", "romeo@localhost/garden"
ROMEO, JULIET = "romeo@localhost", "juliet@localhost"
FP_A, FP_B = "AAAAAAAA BBBBBBBB", "CCCCCCCC DDDDDDDD"


def device(label: str, jid: str, clock: FixedClock,
           policy: TrustPolicy = TrustPolicy.BLIND_UNTIL_VERIFIED) -> DeviceEngine:
    identity = DeviceIdentity.generate(DeterministicRng(f"id/{label}"), clock)
    return DeviceEngine(identity, bare_of(jid), rng=DeterministicRng(f"run/{label}"),
                        clock=clock, trust=Trust(policy=policy, clock=clock))


def relay(out: Outcome, to: DeviceEngine, sender_full: str) -> list[Outcome]:
    return [to.receive(sender_full, p) for p in out.payloads]


def dake(a: DeviceEngine, a_full: str, b: DeviceEngine, b_full: str) -> None:
    queue = [(a, b, b_full, a_full, d) for d in a.start_dake(b_full).payloads]
    while queue:
        src, dst, dst_full, src_full, data = queue.pop(0)
        out = dst.receive(src_full, data)
        queue.extend((dst, src, src_full, dst_full, d) for d in out.payloads)
    assert a.has_session(bare_of(b_full), b.instance_tag)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


# -- the model ---------------------------------------------------------------------------------

def test_levels_per_policy() -> None:
    for policy, undecided in ((TrustPolicy.BLIND, True), (TrustPolicy.MANUAL, False),
                              (TrustPolicy.BLIND_UNTIL_VERIFIED, True)):
        t = Trust(policy=policy)
        assert t.allows(ROMEO, 0x100, FP_A) is undecided
        t.decide(ROMEO, 0x100, TrustLevel.TRUSTED)
        assert t.allows(ROMEO, 0x100, FP_A)
        t.decide(ROMEO, 0x100, TrustLevel.DISTRUSTED)
        assert not t.allows(ROMEO, 0x100, FP_A)
        t.decide(ROMEO, 0x100, TrustLevel.VERIFIED)
        assert t.allows(ROMEO, 0x100, FP_A)


def test_blind_trust_ends_for_an_account_once_one_device_is_verified() -> None:
    t = Trust()
    assert t.allows(ROMEO, 0x100, FP_A) and t.allows(ROMEO, 0x200, FP_B)
    t.decide(ROMEO, 0x100, TrustLevel.VERIFIED)
    assert t.allows(ROMEO, 0x100, FP_A)
    assert not t.allows(ROMEO, 0x200, FP_B)  # undecided, and Romeo has a verified device
    assert t.allows(JULIET, 0x300, FP_B)  # other accounts keep blind trust


def test_ask_policy_asks_the_application_about_undecided_devices_only() -> None:
    asked: list[tuple[str, int, str]] = []

    def ask(account: str, tag: int, fp: str) -> bool:
        asked.append((account, tag, fp))
        return tag == 0x100

    t = Trust(policy=TrustPolicy.ASK, ask=ask)
    assert t.allows(ROMEO, 0x100, FP_A) and not t.allows(ROMEO, 0x200, FP_B)
    t.decide(ROMEO, 0x200, TrustLevel.TRUSTED)
    assert t.allows(ROMEO, 0x200, FP_B)
    assert asked == [(ROMEO, 0x100, FP_A), (ROMEO, 0x200, FP_B)]
    assert not t.undecided_allowed(ROMEO, 0x300, "")  # no fingerprint: never asked


def test_a_new_fingerprint_under_a_known_tag_is_undecided_again() -> None:
    t = Trust(policy=TrustPolicy.MANUAL)
    t.decide(ROMEO, 0x100, TrustLevel.VERIFIED, FP_A)
    assert t.level(ROMEO, 0x100, FP_A) is TrustLevel.VERIFIED
    assert t.level(ROMEO, 0x100, FP_B) is TrustLevel.UNDECIDED
    assert not t.allows(ROMEO, 0x100, FP_B)
    assert t.level(ROMEO, 0x100) is TrustLevel.UNDECIDED  # the record now holds FP_B


def test_deciding_about_an_unseen_device_raises() -> None:
    with pytest.raises(UnknownDeviceError):
        Trust().decide(ROMEO, 0x100, TrustLevel.TRUSTED)
    with pytest.raises(UntrustedDeviceError) as info:
        Trust(policy=TrustPolicy.MANUAL).check(ROMEO, 0x100, FP_A)
    assert info.value.device == (ROMEO, 0x100)


def test_record_store_keeps_decisions_in_a_json_file(tmp_path: Path) -> None:
    clock = FixedClock(NOW)
    path = tmp_path / "trust.json"
    t = Trust(RecordTrustStore(JsonFileRecords(path)), clock=clock)
    t.decide(ROMEO, 0x1234, TrustLevel.VERIFIED, FP_A)
    t.seen(JULIET, 0x100, FP_B)
    again = RecordTrustStore(JsonFileRecords(path))
    assert again.get(ROMEO, 0x1234) == TrustRecord(FP_A, TrustLevel.VERIFIED, NOW, NOW)
    assert [(a, tag) for a, tag, _ in again.all()] == [(JULIET, 0x100), (ROMEO, 0x1234)]
    assert sorted(JsonFileRecords(path).names()) == ["trust/juliet@localhost/00000100",
                                                     "trust/romeo@localhost/00001234"]
    mem = MemoryTrustStore()
    mem.put(ROMEO, 1, TrustRecord(FP_A))
    assert mem.all() == [(ROMEO, 1, TrustRecord(FP_A))]
    with pytest.raises(TrustError):
        TrustRecord.from_json({"fingerprint": "x", "level": "maybe", "first_seen": 0,
                               "last_seen": 0})


# -- every path that encrypts ------------------------------------------------------------------

LEVELS = [(None, True), (TrustLevel.TRUSTED, True), (TrustLevel.DISTRUSTED, False)]


@pytest.mark.parametrize(("level", "sent"), LEVELS)
@pytest.mark.parametrize("policy", [TrustPolicy.BLIND_UNTIL_VERIFIED, TrustPolicy.MANUAL])
def test_online_path_honours_trust(clock: FixedClock, level: TrustLevel | None, sent: bool,
                                   policy: TrustPolicy) -> None:
    j, r = device("j", J1, clock, policy), device("r", R1, clock)
    dake(j, J1, r, R1)
    assert j.trust.level(ROMEO, r.instance_tag, r.identity.fingerprint) is TrustLevel.UNDECIDED
    if level is not None:
        j.trust.decide(ROMEO, r.instance_tag, level)
    allowed = sent if level is not None else policy is not TrustPolicy.MANUAL
    if allowed:
        out = j.send(ROMEO, r.instance_tag, "hello")
        [got] = relay(out, r, J1)
        assert got.displays == ("hello",)
        assert got.trust is TrustLevel.UNDECIDED  # Romeo decided nothing about Juliet
    else:
        before = j.session(ROMEO, r.instance_tag).session
        with pytest.raises(UntrustedDeviceError):
            j.send(ROMEO, r.instance_tag, "hello")
        assert j.session(ROMEO, r.instance_tag).session is before  # nothing encrypted


@pytest.mark.parametrize(("level", "sent"), LEVELS)
@pytest.mark.parametrize("policy", [TrustPolicy.BLIND_UNTIL_VERIFIED, TrustPolicy.MANUAL])
def test_offline_path_honours_trust(clock: FixedClock, level: TrustLevel | None, sent: bool,
                                    policy: TrustPolicy) -> None:
    j, r = device("j", J1, clock, policy), device("r", R1, clock)
    secrets = r.new_prekeys(1)
    r.prekeys_published(secrets)
    [ensemble] = r.ensembles(secrets)
    fp = profile_fingerprint(ensemble.client_profile)
    assert fp == r.identity.fingerprint
    if level is not None:
        j.trust.decide(ROMEO, r.instance_tag, level, fp)
    allowed = sent if level is not None else policy is not TrustPolicy.MANUAL
    if allowed:
        out = j.send_offline(ROMEO, ensemble, "hello")
        assert [peek_message_type(p) for p in out.payloads] == [
            MessageType.NON_INTERACTIVE_AUTH, MessageType.DATA]
        got = relay(out, r, J1)
        assert got[-1].displays == ("hello",)
    else:
        with pytest.raises(UntrustedDeviceError):
            j.send_offline(ROMEO, ensemble, "hello")
        assert j.sessions == {}
    assert j.trust.level(ROMEO, r.instance_tag) is (level or TrustLevel.UNDECIDED)


@pytest.mark.parametrize(("level", "sent"), LEVELS)
@pytest.mark.parametrize("policy", [TrustPolicy.BLIND_UNTIL_VERIFIED, TrustPolicy.MANUAL])
def test_own_device_path_honours_trust(clock: FixedClock, level: TrustLevel | None, sent: bool,
                                       policy: TrustPolicy) -> None:
    j1, j2 = device("j1", J1, clock, policy), device("j2", J2, clock)
    dake(j1, J1, j2, J2)
    if level is not None:
        j1.trust.decide(JULIET, j2.instance_tag, level)
    allowed = sent if level is not None else policy is not TrustPolicy.MANUAL
    if allowed:
        [got] = relay(j1.send(JULIET, j2.instance_tag, "note to self"), j2, J1)
        assert got.displays == ("note to self",)
    else:
        with pytest.raises(UntrustedDeviceError):
            j1.send(JULIET, j2.instance_tag, "note to self")


def test_received_messages_carry_the_sender_trust(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    r.trust.decide(JULIET, j.instance_tag, TrustLevel.TRUSTED)
    [got] = relay(j.send(ROMEO, r.instance_tag, "hi"), r, J1)
    assert got.trust is TrustLevel.TRUSTED and got.pair is not None
    assert got.pair.their_tag == j.instance_tag


def test_device_listing(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    own, romeo = j.devices()
    assert own.own and own.fingerprint == j.identity.fingerprint and own.tag == j.instance_tag
    assert (romeo.account, romeo.tag, romeo.fingerprint, romeo.trust, romeo.last_seen) == (
        ROMEO, r.instance_tag, r.identity.fingerprint, TrustLevel.UNDECIDED, NOW)
    assert len(own.fingerprint) == 112 + 13  # 14 groups of eight hex digits
    assert j.devices(ROMEO) == [romeo]


# -- SMP ---------------------------------------------------------------------------------------

def smp_run(j: DeviceEngine, r: DeviceEngine, secret_j: str, secret_r: str,
            question: str = "Where did we meet?") -> tuple[list[Outcome], list[Outcome]]:
    """Juliet starts SMP, Romeo answers; every outcome of each side, in order."""
    at_j: list[Outcome] = [j.smp_start(ROMEO, r.instance_tag, secret_j, question)]
    at_r: list[Outcome] = relay(at_j[0], r, J1)
    assert [(u.outcome, u.question) for o in at_r for u in o.smp] == [
        (SmpOutcome.QUESTION, question.encode())]
    queue = [("r", r.smp_answer(JULIET, j.instance_tag, secret_r))]
    at_r.append(queue[0][1])
    while queue:
        who, out = queue.pop(0)
        for got in relay(out, j, R1) if who == "r" else relay(out, r, J1):
            (at_j if who == "r" else at_r).append(got)
            queue.append(("j" if who == "r" else "r", got))
    return at_j, at_r


def outcomes(outs: list[Outcome]) -> list[SmpOutcome]:
    return [u.outcome for o in outs for u in o.smp]


def test_smp_with_the_same_secret_verifies_both_sides(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    at_j, at_r = smp_run(j, r, "balcony", "balcony")
    assert outcomes(at_j) == [SmpOutcome.SUCCEEDED]
    assert outcomes(at_r) == [SmpOutcome.QUESTION, SmpOutcome.SUCCEEDED]
    assert j.trust.level(ROMEO, r.instance_tag) is TrustLevel.VERIFIED
    assert r.trust.level(JULIET, j.instance_tag) is TrustLevel.VERIFIED
    assert at_j[-1].trust is TrustLevel.VERIFIED


def test_smp_with_different_secrets_fails_both_sides_and_the_session_goes_on(
        clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    at_j, at_r = smp_run(j, r, "balcony", "orchard")
    assert outcomes(at_j) == [SmpOutcome.FAILED]
    assert outcomes(at_r) == [SmpOutcome.QUESTION, SmpOutcome.FAILED]
    assert j.trust.level(ROMEO, r.instance_tag) is TrustLevel.UNDECIDED
    [got] = relay(j.send(ROMEO, r.instance_tag, "still here"), r, J1)
    assert got.displays == ("still here",)


def test_smp_abort_in_the_middle_lets_both_sides_start_again(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    start = j.smp_start(ROMEO, r.instance_tag, "balcony", "")
    [question] = relay(start, r, J1)
    assert outcomes([question]) == [SmpOutcome.QUESTION]
    abort = r.smp_abort(JULIET, j.instance_tag)
    assert outcomes([abort]) == [SmpOutcome.ABORTED]
    [seen] = relay(abort, j, R1)
    assert outcomes([seen]) == [SmpOutcome.ABORTED]
    # Romeo starts this time, with another question; both sides get there.
    seen_r, seen_j = smp_back(r, j)
    assert outcomes(seen_r) == [SmpOutcome.SUCCEEDED]
    assert outcomes(seen_j) == [SmpOutcome.QUESTION, SmpOutcome.SUCCEEDED]
    assert r.trust.level(JULIET, j.instance_tag) is TrustLevel.VERIFIED
    assert j.trust.level(ROMEO, r.instance_tag) is TrustLevel.VERIFIED


def smp_back(r: DeviceEngine, j: DeviceEngine) -> tuple[list[Outcome], list[Outcome]]:
    """Romeo starts SMP ("again?"), Juliet answers with the same secret."""
    at_r = [r.smp_start(JULIET, j.instance_tag, "balcony", "again?")]
    at_j = relay(at_r[0], j, R1)
    assert [(u.outcome, u.question) for o in at_j for u in o.smp] == [
        (SmpOutcome.QUESTION, b"again?")]
    queue = [("j", j.smp_answer(ROMEO, r.instance_tag, "balcony"))]
    at_j.append(queue[0][1])
    while queue:
        who, out = queue.pop(0)
        for got in relay(out, r, J1) if who == "j" else relay(out, j, R1):
            (at_r if who == "j" else at_j).append(got)
            queue.append(("r" if who == "j" else "j", got))
    return at_r, at_j


def test_smp_without_an_encrypted_session_raises(clock: FixedClock) -> None:
    j = device("j", J1, clock)
    with pytest.raises(NoSessionError):
        j.smp_start(ROMEO, 0x100, "secret")
    with pytest.raises(NoSessionError):
        j.smp_answer(ROMEO, 0x100, "secret")
    with pytest.raises(NoSessionError):
        j.smp_abort(ROMEO, 0x100)


def test_trust_decisions_persist_in_the_device_store(clock: FixedClock) -> None:
    from otrv4_xmpp.state.store import MemoryStore
    store = MemoryStore()
    identity = DeviceIdentity.generate(DeterministicRng("id/store"), clock)
    j = DeviceEngine(identity, JULIET, rng=DeterministicRng("run/store"), clock=clock,
                     store=store)
    r = device("r", R1, clock)
    dake(j, J1, r, R1)
    [_, _] = smp_run(j, r, "balcony", "balcony")
    assert j.trust.level(ROMEO, r.instance_tag) is TrustLevel.VERIFIED
    assert store.names("trust/") == [f"trust/{ROMEO}/{r.instance_tag:08x}"]
    again = DeviceEngine.open(store, JULIET, rng=DeterministicRng("run/again"), clock=clock)
    assert again.trust.level(ROMEO, r.instance_tag, r.identity.fingerprint) \
        is TrustLevel.VERIFIED
    [info] = [d for d in again.devices() if not d.own]
    assert (info.tag, info.trust) == (r.instance_tag, TrustLevel.VERIFIED)
