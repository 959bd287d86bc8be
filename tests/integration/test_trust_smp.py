"""Trust on every path that encrypts, and SMP between two plugin clients, on Prosody.

Paths: a peer's online devices (data messages on sessions), the own account's other
devices (the copies), and offline devices reached through the prekey service
(non-interactive DAKEs).  On each, an undecided, a trusted and a distrusted device
under the ``MANUAL`` policy (undecided devices refused), and undecided devices under
the default policy (blind trust before verification).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from otrv4.smp import SmpOutcome
from otrv4_xmpp.engine import NoSessionError
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client
from otrv4_xmpp.trust import TrustLevel, TrustPolicy

from .cast import Cast, collect, run
from .conftest import ProsodyServer
from .test_plugin_prekeys import OPTIONS, prekey_service

pytestmark = pytest.mark.integration

ROMEO = "romeo@localhost"
JULIET = "juliet@localhost"
MANUAL: dict[str, Any] = {"trust_policy": TrustPolicy.MANUAL}


async def _online_with_sessions(cast: Cast) -> None:
    await cast.online("juliet/j1", "juliet/j2", "juliet/j3", "romeo/r1", "romeo/r2",
                      "romeo/r3")
    await cast.befriend("juliet/j1", "romeo/r1")
    await cast.see_online("juliet/j1", ROMEO, 3)
    sessions = await cast["juliet/j1"].otr.start_sessions(ROMEO, timeout=15)
    assert len(sessions) == 5  # three of Romeo's devices, two of Juliet's own


def _tags(cast: Cast, *names: str) -> set[tuple[str, int]]:
    return {(ROMEO if n.startswith("romeo") else JULIET, cast[n].otr.instance_tag)
            for n in names}


def test_online_and_own_devices_undecided_trusted_distrusted(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "trust-online")
        cast.device("juliet/j1", **MANUAL)
        try:
            await _online_with_sessions(cast)
            j1 = cast["juliet/j1"]
            # Romeo: r1 trusted, r2 distrusted, r3 undecided; own: j2 trusted, j3 undecided.
            j1.otr.set_trust(ROMEO, cast["romeo/r1"].otr.instance_tag, TrustLevel.TRUSTED)
            j1.otr.set_trust(ROMEO, cast["romeo/r2"].otr.instance_tag, TrustLevel.DISTRUSTED)
            j1.otr.set_trust(JULIET, cast["juliet/j2"].otr.instance_tag, TrustLevel.TRUSTED)
            report = await j1.otr.send_message(ROMEO, "only the trusted")
            assert set(report.recipients) == _tags(cast, "romeo/r1", "juliet/j2")
            assert set(report.untrusted) == _tags(cast, "romeo/r2", "romeo/r3", "juliet/j3")
            assert report.missing == ()
            got = await collect([cast["romeo/r1"], cast["juliet/j2"]], "only the trusted")
            assert all(len(c) == 1 for c in got.values())
            await asyncio.sleep(0.5)
            for name in ("romeo/r2", "romeo/r3", "juliet/j3"):
                assert cast[name].received == [], name
                assert cast[name].errors == [], name  # nothing was sent to them at all
            # The receiving side says which device sent it and how far it trusts it.
            [m] = cast["romeo/r1"].received
            assert (m.sender_tag, m.trust) == (j1.otr.instance_tag, TrustLevel.UNDECIDED)
            listing = {(d.account, d.tag): d for d in j1.otr.devices()}
            assert listing[(JULIET, j1.otr.instance_tag)].own
            r2 = listing[(ROMEO, cast["romeo/r2"].otr.instance_tag)]
            assert (r2.trust, r2.fingerprint) == (TrustLevel.DISTRUSTED,
                                                  cast["romeo/r2"].otr.fingerprint)
        finally:
            await cast.close()
    run(scenario)


def test_online_undecided_devices_blindly_trusted_by_default(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "trust-btbv")
        try:
            await _online_with_sessions(cast)
            j1 = cast["juliet/j1"]
            report = await j1.otr.send_message(ROMEO, "to all")
            assert len(report.recipients) == 5 and report.untrusted == ()
            # Once one of Romeo's devices is verified, his undecided ones are left out.
            j1.otr.set_trust(ROMEO, cast["romeo/r1"].otr.instance_tag, TrustLevel.VERIFIED)
            report = await j1.otr.send_message(ROMEO, "verified only")
            assert set(report.untrusted) == _tags(cast, "romeo/r2", "romeo/r3")
            assert set(report.recipients) == _tags(cast, "romeo/r1", "juliet/j2", "juliet/j3")
        finally:
            await cast.close()
    run(scenario)


def test_offline_devices_through_prekeys_honour_trust(prosody: ProsodyServer,
                                                      tmp_path: Path) -> None:
    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "trust-offline", OPTIONS)
            try:
                await cast.online("romeo/r1", "romeo/r2", "romeo/r3")
                r1, r2, r3 = cast["romeo/r1"], cast["romeo/r2"], cast["romeo/r3"]
                await cast.offline("romeo/r1", "romeo/r2", "romeo/r3")
                j1 = cast.device("juliet/j1", **{**OPTIONS, **MANUAL})
                await cast.online("juliet/j1")
                # Juliet confirmed r1's fingerprint out of band and distrusts r2.
                trust = j1.otr.engine.trust
                trust.decide(ROMEO, r1.otr.instance_tag, TrustLevel.TRUSTED, r1.otr.fingerprint)
                trust.decide(ROMEO, r2.otr.instance_tag, TrustLevel.DISTRUSTED,
                             r2.otr.fingerprint)
                report = await j1.otr.send_message(ROMEO, "by the prekeys")
                assert report.non_interactive == ((ROMEO, r1.otr.instance_tag),)
                assert report.recipients == ((ROMEO, r1.otr.instance_tag),)
                assert set(report.untrusted) == {(ROMEO, r2.otr.instance_tag),
                                                 (ROMEO, r3.otr.instance_tag)}
                # r3 (undecided) was seen through its ensemble: listed, still undecided.
                assert j1.otr.trust_level(ROMEO, r3.otr.instance_tag) is TrustLevel.UNDECIDED
                await cast.online("romeo/r1", "romeo/r2", "romeo/r3")
                got = await collect([r1], "by the prekeys")
                assert len(got[r1.boundjid.full]) == 1
                await asyncio.sleep(0.5)
                assert r2.received == [] and r3.received == []
            finally:
                await cast.close()
    run(scenario)


# -- SMP between two plugin clients --------------------------------------------------------------

async def _pair(cast: Cast) -> tuple[Otr4Client, Otr4Client]:
    await cast.online("juliet/j1", "romeo/r1")
    await cast.befriend("juliet/j1", "romeo/r1")
    await cast.see_online("juliet/j1", ROMEO, 1)
    assert len(await cast["juliet/j1"].otr.start_sessions(ROMEO, timeout=15)) == 1
    j, r = cast["juliet/j1"], cast["romeo/r1"]
    while not r.otr.engine.has_session(JULIET, j.otr.instance_tag):
        await asyncio.sleep(0.05)
    return j, r


async def _wait_smp(client: Otr4Client, outcome: SmpOutcome, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not any(u.outcome is outcome for u in client.smp):
            await asyncio.sleep(0.05)
    await asyncio.wait_for(wait(), timeout)


def _smp_scenario(prosody: ProsodyServer, label: str, answer: str) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, label)
        try:
            j, r = await _pair(cast)
            jt, rt = j.otr.instance_tag, r.otr.instance_tag
            j.otr.smp_start(ROMEO, rt, "the balcony", "Where did we first speak?")
            await _wait_smp(r, SmpOutcome.QUESTION)
            [question] = r.smp
            assert (question.peer, question.tag, question.question) == (
                JULIET, jt, "Where did we first speak?")
            r.otr.smp_answer(JULIET, jt, answer)
            want = SmpOutcome.SUCCEEDED if answer == "the balcony" else SmpOutcome.FAILED
            await _wait_smp(j, want)
            await _wait_smp(r, want)
            level = TrustLevel.VERIFIED if want is SmpOutcome.SUCCEEDED \
                else TrustLevel.UNDECIDED
            assert j.otr.trust_level(ROMEO, rt) is level
            assert r.otr.trust_level(JULIET, jt) is level
            if want is SmpOutcome.SUCCEEDED:
                assert j.smp[-1].trust is TrustLevel.VERIFIED
            # Either way the conversation goes on, and the receiver sees the trust.
            await j.otr.send_message(ROMEO, "after SMP")
            m = await r.next_message()
            assert (m.text, m.trust) == ("after SMP", level)
        finally:
            await cast.close()
    run(scenario)


def test_smp_same_secret_verifies_both_sides(prosody: ProsodyServer) -> None:
    _smp_scenario(prosody, "smp-same", "the balcony")


def test_smp_different_secret_fails_both_sides_and_the_session_goes_on(
        prosody: ProsodyServer) -> None:
    _smp_scenario(prosody, "smp-differ", "the orchard")


def test_smp_abort_in_the_middle_then_both_start_again(prosody: ProsodyServer) -> None:
    async def scenario() -> None:
        cast = Cast(prosody, "smp-abort")
        try:
            j, r = await _pair(cast)
            jt, rt = j.otr.instance_tag, r.otr.instance_tag
            j.otr.smp_start(ROMEO, rt, "the balcony")
            await _wait_smp(r, SmpOutcome.QUESTION)
            r.otr.smp_abort(JULIET, jt)  # Romeo aborts instead of answering
            await _wait_smp(j, SmpOutcome.ABORTED)
            assert [u.outcome for u in r.smp] == [SmpOutcome.QUESTION, SmpOutcome.ABORTED]
            # Romeo starts again this time; Juliet answers; both verified.
            r.otr.smp_start(JULIET, jt, "the balcony", "again?")
            await _wait_smp(j, SmpOutcome.QUESTION)
            assert j.smp[-1].question == "again?"
            j.otr.smp_answer(ROMEO, rt, "the balcony")
            await _wait_smp(j, SmpOutcome.SUCCEEDED)
            await _wait_smp(r, SmpOutcome.SUCCEEDED)
            assert j.otr.trust_level(ROMEO, rt) is TrustLevel.VERIFIED
            assert r.otr.trust_level(JULIET, jt) is TrustLevel.VERIFIED
            # Without a session there is no SMP.
            with pytest.raises(NoSessionError):
                j.otr.smp_start(ROMEO, 0x1234, "x")
        finally:
            await cast.close()
    run(scenario)
