"""Live sessions between the adapter and the reference implementation, in both roles.

Each check makes a fresh device on each side (``device.new`` on the adapter,
a :class:`~otrv4_conformance.device.LiveDevice` here) and carries every
OTRv4 message one side produces to the other, as the XMPP layer would.  It
passes when both sides agree on what they must agree on: the SSID, each
other's fingerprint, the texts displayed, the SMP outcome.  A message the
reference rejects is reported with the error class it raised — the name of
the rule the adapter broke.  Checks that need a DAKE are *blocked* (not run)
when the DAKE fails, so that one bug is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from otrv4.clock import FixedClock
from otrv4.data_message import DataMessage
from otrv4.errors import OTRError
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.dake import ServerIdentity
from otrv4_prekey.server import PrekeyServer, ServerPolicy
from otrv4_prekey.storage import InMemoryStorage
from otrv4_xmpp.engine import bare_of

from .device import LiveDevice, decode_ensemble, read_ensembles
from .protocol import AdapterError, Call
from .report import CheckResult, first_difference

__all__ = ["LiveFailure", "Peer", "live_checks"]

NOW = 1_780_000_000
"""The time both sides' clocks show (profiles are created and checked at it)."""


class LiveFailure(Exception):
    """A live check failed: ``rule`` is the broken rule (an error class or what was compared)."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


@dataclass
class Peer:
    """The adapter's device in one session, seen from the runner."""

    call: Call
    jid: str
    tag: int = 0
    fingerprint: str = ""

    def op(self, op: str, **args: Any) -> dict[str, Any]:
        """Call ``device.<op>`` (or ``op`` itself when it names its family, ``prekey.…``);
        a rejection raises :class:`LiveFailure`."""
        op = op if "." in op else f"device.{op}"
        try:
            reply = self.call(op, {"device": self.jid, **args})
        except AdapterError as e:
            raise LiveFailure("adapter", f"{op}: {type(e).__name__}: {e}") from None
        if reply.unsupported:
            raise LiveFailure("unsupported", f"{op} is not supported")
        if reply.error:
            msg = f" ({reply.message})" if reply.message else ""
            raise LiveFailure(reply.error, f"the adapter rejected {op} with "
                                           f"{reply.error}{msg}")
        assert reply.result is not None
        return reply.result


def _messages(out: dict[str, Any], who: str) -> list[bytes]:
    send = out.get("send")
    if not isinstance(send, list):
        raise LiveFailure("outcome", f"{who}: an outcome needs a 'send' list, got {out!r:.80}")
    try:
        return [bytes.fromhex(m) for m in send]
    except (TypeError, ValueError):
        raise LiveFailure("outcome", f"{who}: 'send' holds something other than hex") from None


class Session:
    """One adapter device and one reference device, and the carrying of messages."""

    def __init__(self, call: Call, number: int) -> None:
        self.adapter = Peer(call, f"alice@adapter.example/conformance{number}")
        self.ref = LiveDevice(f"bob@reference.example/conformance{number}", NOW,
                              DeterministicRng(f"otrv4-conformance reference {number}"))
        hello = self.adapter.op("new", jid=self.adapter.jid, now=NOW)
        if not isinstance(hello.get("tag"), int):
            raise LiveFailure("device.new", f"device.new must return an integer tag: {hello}")
        self.adapter.tag = hello["tag"]
        self.adapter.fingerprint = str(hello.get("fingerprint", ""))
        self.ref_bare, self.adapter_bare = bare_of(self.ref.jid), bare_of(self.adapter.jid)

    # carrying -------------------------------------------------------------------------

    def to_ref(self, data: bytes, what: str) -> dict[str, Any]:
        """The reference device receives ``data`` from the adapter's device."""
        try:
            out = self.ref.receive(self.adapter.jid, data)
        except OTRError as e:
            raise LiveFailure(type(e).__name__, f"the reference rejected the adapter's {what}: "
                                                f"{e}") from None
        if out.get("rejected"):
            notices = "; ".join(out["notices"])
            raise LiveFailure(out["rejected"], f"the reference rejected the adapter's {what}"
                                               f" ({notices})")
        return out

    def to_adapter(self, data: bytes, what: str) -> dict[str, Any]:
        """The adapter's device receives ``data`` from the reference device."""
        try:
            out = self.adapter.op("receive", **{"from": self.ref.jid, "message": data.hex()})
        except LiveFailure as e:
            raise LiveFailure(e.rule, f"{what}: {e.detail}") from None
        if isinstance(out.get("rejected"), str) and out["rejected"]:
            raise LiveFailure(out["rejected"], f"the adapter rejected the reference's {what}")
        return out

    def shuttle(self, first: list[bytes], from_adapter: bool) -> tuple[list[str], list[str]]:
        """Carry messages back and forth until neither side has any; returns the SMP
        events ``(adapter's, reference's)``."""
        events: tuple[list[str], list[str]] = ([], [])
        pending = [(m, from_adapter) for m in first]
        steps = 0
        while pending:
            steps += 1
            if steps > 20:
                raise LiveFailure("termination", "more than 20 messages without settling")
            data, src_adapter = pending.pop(0)
            if src_adapter:
                out = self.to_ref(data, "message")
                events[1].extend(out["smp"])
                pending += [(m, False) for m in _messages(out, "reference")]
            else:
                out = self.to_adapter(data, "message")
                events[0].extend(str(e) for e in out.get("smp", []))
                pending += [(m, True) for m in _messages(out, "adapter")]
        return events

    # the DAKE -------------------------------------------------------------------------

    def agree(self) -> None:
        """Both sides hold an encrypted session with the same SSID, and each knows the
        other's fingerprint.  Raises :class:`LiveFailure`."""
        ours = self.ref.session(self.adapter_bare, self.adapter.tag)
        theirs = self.adapter.op("session", peer=self.ref_bare, tag=self.ref.engine.instance_tag)
        if not ours["encrypted"]:
            raise LiveFailure("state", "the reference session is not encrypted")
        if theirs.get("encrypted") is not True:
            raise LiveFailure("state", "the adapter reports its session as not encrypted")
        if str(theirs.get("ssid", "")).lower() != ours["ssid"]:
            raise LiveFailure("SSID", "SSID " + first_difference(ours["ssid"],
                                                                 theirs.get("ssid")))
        ref_fp = self.ref.hello()["fingerprint"]
        if str(theirs.get("fingerprint", "")).lower() != ref_fp:
            raise LiveFailure("fingerprint", "the adapter's view of the reference fingerprint: "
                              + first_difference(ref_fp, theirs.get("fingerprint")))
        if self.adapter.fingerprint.lower() != ours["fingerprint"]:
            raise LiveFailure("fingerprint", "the adapter's own fingerprint (device.new): "
                              + first_difference(ours["fingerprint"], self.adapter.fingerprint))

    def interactive(self, adapter_starts: bool) -> None:
        """Run the interactive DAKE (Identity, Auth-R, Auth-I) and :meth:`agree`."""
        names = ("Identity message", "Auth-R message", "Auth-I message")
        if adapter_starts:
            msgs = _messages(self.adapter.op("start", peer=self.ref.jid), "adapter")
        else:
            msgs = _messages(self.ref.start(self.adapter.jid), "reference")
        from_adapter = adapter_starts
        for name in names:
            if len(msgs) != 1:
                side = "adapter" if from_adapter else "reference"
                raise LiveFailure("DAKE", f"the {side} sent {len(msgs)} messages for the {name}")
            out = self.to_ref(msgs[0], name) if from_adapter else self.to_adapter(msgs[0], name)
            msgs = _messages(out, "reference" if from_adapter else "adapter")
            from_adapter = not from_adapter
        if msgs:
            raise LiveFailure("DAKE", f"{len(msgs)} messages after the Auth-I message")
        self.agree()

    def offline(self, adapter_publishes: bool, text: str) -> None:
        """Run the non-interactive DAKE from a Prekey Ensemble, with ``text`` in the first
        data message, then :meth:`agree`."""
        if adapter_publishes:
            ensembles = self.adapter.op("prekeys", count=1).get("ensembles") or [None]
            try:
                ensemble = decode_ensemble(ensembles[0])
            except (OTRError, KeyError, TypeError, ValueError) as e:
                raise LiveFailure(type(e).__name__, f"the adapter's Prekey Ensemble: {e}"
                                  ) from None
            try:
                msgs = _messages(self.ref.send_offline(self.adapter_bare, ensemble, text),
                                 "reference")
            except OTRError as e:
                raise LiveFailure(type(e).__name__, f"the reference rejected the adapter's "
                                                    f"Prekey Ensemble: {e}") from None
            displays = []
            for m in msgs:
                displays += self.to_adapter(m, "Non-Interactive-Auth or data message")["display"]
        else:
            ensemble_d = self.ref.prekeys(1)["ensembles"][0]
            msgs = _messages(self.adapter.op("send_offline", peer=self.ref_bare,
                                             ensemble=ensemble_d, text=text), "adapter")
            displays = []
            for m in msgs:
                displays += self.to_ref(m, "Non-Interactive-Auth or data message")["display"]
        if displays != [text]:
            raise LiveFailure("display", f"first data message displayed {displays!r}, "
                                         f"expected {[text]!r}")
        self.agree()

    # conversations ----------------------------------------------------------------------

    def say(self, from_adapter: bool, text: str) -> list[bytes]:
        """One data message with ``text``, not yet delivered."""
        if from_adapter:
            return _messages(self.adapter.op("send", peer=self.ref_bare,
                                             tag=self.ref.engine.instance_tag, text=text),
                             "adapter")
        return _messages(self.ref.send(self.adapter_bare, self.adapter.tag, text), "reference")

    def deliver(self, from_adapter: bool, messages: list[bytes], expected: list[str]) -> None:
        """Deliver ``messages`` in the order given; the receiver must display ``expected``."""
        shown: list[str] = []
        for m in messages:
            out = self.to_ref(m, "data message") if from_adapter else \
                self.to_adapter(m, "data message")
            shown += [str(t) for t in out.get("display", [])]
        if shown != expected:
            who = "reference" if from_adapter else "adapter"
            raise LiveFailure("display", f"the {who} displayed {shown!r}, expected {expected!r}")


# -- the checks ------------------------------------------------------------------------


def _conversation(s: Session) -> None:
    s.interactive(adapter_starts=True)
    dh_steps = {True: 0, False: 0}
    for round_, from_adapter in enumerate((False, True, False, True, False, True, False)):
        texts = [f"round {round_} message {i}" for i in range(2)]
        msgs = [m for t in texts for m in s.say(from_adapter, t)]
        try:
            dh_steps[from_adapter] += sum(DataMessage.decode(m).dh_public is not None
                                          for m in msgs)
        except OTRError as e:
            raise LiveFailure(type(e).__name__, f"a data message does not decode: {e}"
                              ) from None
        s.deliver(from_adapter, msgs, texts)
    if not dh_steps[True] or not dh_steps[False]:
        raise LiveFailure("DH ratchet", "after seven direction changes a side never sent a "
                          f"new DH public key (adapter: {dh_steps[True]}, reference: "
                          f"{dh_steps[False]})")


def _out_of_order(s: Session) -> None:
    s.interactive(adapter_starts=False)
    for from_adapter in (False, True):
        texts = ["first", "second", "third"]
        msgs = [m for t in texts for m in s.say(from_adapter, t)]
        s.deliver(from_adapter, [msgs[2], msgs[0], msgs[1]], ["third", "first", "second"])


def _smp(equal: bool) -> Callable[[Session], None]:
    def run(s: Session) -> None:
        s.interactive(adapter_starts=True)
        question, secret = "Where did we meet?", "in the orchard"
        answer = secret if equal else "on the balcony"
        if equal:  # the reference asks, the adapter answers
            events = s.shuttle(_messages(s.ref.smp_start(s.adapter_bare, s.adapter.tag, secret,
                                                         question), "reference"), False)
            asked = events[0]
        else:  # the adapter asks, the reference answers
            events = s.shuttle(_messages(s.adapter.op(
                "smp_start", peer=s.ref_bare, tag=s.ref.engine.instance_tag, secret=secret,
                question=question), "adapter"), True)
            asked = events[1]
        if asked != [f"question:{question}"]:
            raise LiveFailure("SMP question", f"SMP events before the answer: {asked!r}")
        if equal:
            more = s.shuttle(_messages(s.adapter.op(
                "smp_answer", peer=s.ref_bare, tag=s.ref.engine.instance_tag, secret=answer),
                "adapter"), True)
        else:
            more = s.shuttle(_messages(s.ref.smp_answer(s.adapter_bare, s.adapter.tag, answer),
                                       "reference"), False)
        want = "succeeded" if equal else "failed"
        for side, got in (("adapter", more[0]), ("reference", more[1])):
            if got != [want]:
                raise LiveFailure("SMP outcome", f"the {side} reported {got!r}, expected "
                                                 f"{[want]!r}")
    return run


_NEEDS_DAKE = {
    "conversation with a direction change and a DH step": _conversation,
    "messages delivered out of order": _out_of_order,
    "SMP with equal secrets": _smp(True),
    "SMP with different secrets": _smp(False),
}

_DAKES: dict[str, Callable[[Session], None]] = {
    "interactive DAKE, adapter initiates": lambda s: s.interactive(True),
    "interactive DAKE, reference initiates": lambda s: s.interactive(False),
    "non-interactive DAKE, adapter publishes the prekeys":
        lambda s: s.offline(True, "sent while you were away"),
    "non-interactive DAKE, reference publishes the prekeys":
        lambda s: s.offline(False, "sent while you were away"),
}


def _run(level: int, name: str, body: Callable[[Session], None], call: Call, number: int,
         blocked_by: str | None) -> CheckResult:
    if blocked_by:
        return CheckResult(level, name, "blocked", "DAKE", f"needs a DAKE; {blocked_by}")
    try:
        body(Session(call, number))
    except LiveFailure as e:
        if e.rule == "unsupported":
            return CheckResult(level, name, "unsupported", e.rule, e.detail)
        return CheckResult(level, name, "failed", e.rule, e.detail)
    return CheckResult(level, name, "passed", "live session")


# -- level 4 ---------------------------------------------------------------------------

SERVICE = "prekeys.adapter.example"


def _prekey_server() -> PrekeyServer:
    rng = DeterministicRng("otrv4-conformance prekey server")
    return PrekeyServer(ServerIdentity(SERVICE, EdDSAKeyPair.generate(rng)), InMemoryStorage(),
                        rng, FixedClock(NOW),
                        ServerPolicy(publisher_domains=frozenset({"adapter.example",
                                                                  "reference.example"})))


def _to_server(server: PrekeyServer, sender: str, data: bytes, what: str) -> bytes:
    try:
        reply = server.handle(sender, data)
    except OTRError as e:
        raise LiveFailure(type(e).__name__, f"the reference prekey server rejected the "
                                            f"adapter's {what}: {e}") from None
    if reply.failure is not None:
        raise LiveFailure(type(reply.failure).__name__, f"the reference prekey server "
                          f"answered the adapter's {what} with a Failure message: "
                          f"{reply.failure}")
    return reply.encode()


def _hex_message(out: dict[str, Any], what: str) -> bytes:
    try:
        return bytes.fromhex(str(out["message"]))
    except (KeyError, ValueError):
        raise LiveFailure("outcome", f"{what}: the result needs a hex 'message'") from None


def _adapter_publishes(s: Session) -> None:
    server = _prekey_server()
    fp = server.identity.fingerprint.hex()
    dake1 = _hex_message(s.adapter.op("prekey.publish_start", server=SERVICE,
                                      serverFingerprint=fp, count=2), "prekey.publish_start")
    dake2 = _to_server(server, s.adapter_bare, dake1, "DAKE-1 message")
    dake3 = _hex_message(s.adapter.op("prekey.publish_dake2", message=dake2.hex()),
                         "prekey.publish_dake2")
    success = _to_server(server, s.adapter_bare, dake3, "DAKE-3 message (publication)")
    s.adapter.op("prekey.publish_finish", message=success.hex())
    answer = server.handle(s.ref_bare, bytes.fromhex(
        s.ref.prekey_query(s.adapter_bare)["message"])).encode()
    try:
        ensembles = s.ref.prekey_answer(s.adapter_bare, answer)["ensembles"]
    except OTRError as e:
        raise LiveFailure(type(e).__name__, f"the reference cannot use what the adapter "
                                            f"published: {e}") from None
    if len(ensembles) != 1:
        raise LiveFailure("retrieval", f"{len(ensembles)} ensembles for the adapter's account")
    text = "retrieved from the prekey server"
    msgs = _messages(s.ref.send_offline(s.adapter_bare, decode_ensemble(ensembles[0]), text),
                     "reference")
    shown = [t for m in msgs for t in s.to_adapter(m, "Non-Interactive-Auth or data message")
             ["display"]]
    if shown != [text]:
        raise LiveFailure("display", f"the adapter displayed {shown!r}, expected {[text]!r}")
    s.agree()


def _adapter_retrieves(s: Session) -> None:
    server = _prekey_server()
    fp = server.identity.fingerprint
    ref = s.ref
    dake2 = server.handle(s.ref_bare, bytes.fromhex(
        ref.publish_start(SERVICE, fp, 2)["message"])).encode()
    success = server.handle(s.ref_bare, bytes.fromhex(
        ref.publish_dake2(dake2)["message"])).encode()
    ref.publish_finish(success)
    query_ = _hex_message(s.adapter.op("prekey.query", identity=s.ref_bare), "prekey.query")
    answer = _to_server(server, s.adapter_bare, query_, "Prekey Ensemble Query message")
    got = s.adapter.op("prekey.answer", identity=s.ref_bare, message=answer.hex())
    expected = read_ensembles(answer, s.adapter.tag, s.ref_bare, ref.clock)
    if got.get("ensembles") != expected:
        raise LiveFailure("retrieval", "the ensembles read: "
                          + first_difference(expected, got.get("ensembles")))
    text = "sent from a retrieved ensemble"
    msgs = _messages(s.adapter.op("send_offline", peer=s.ref_bare, ensemble=expected[0],
                                  text=text), "adapter")
    shown = [t for m in msgs for t in s.to_ref(m, "Non-Interactive-Auth or data message")
             ["display"]]
    if shown != [text]:
        raise LiveFailure("display", f"the reference displayed {shown!r}, expected {[text]!r}")
    s.agree()


def live_checks(level: int, call: Call) -> Iterator[CheckResult]:
    """The live sessions of ``level`` (2, 3 or 4) with the adapter behind ``call``."""
    if level == 2:
        for i, (name, body) in enumerate(_DAKES.items()):
            yield _run(2, name, body, call, i, None)
    elif level == 3:
        first = _run(3, "DAKE for the conversations", lambda s: s.interactive(True), call,
                     10, None)
        yield first
        blocked = None if first.status == "passed" else f"{first.rule}: {first.detail}"
        for i, (name, body) in enumerate(_NEEDS_DAKE.items()):
            yield _run(3, name, body, call, 11 + i, blocked)
    elif level == 4:
        yield _run(4, "prekey publication by the adapter, retrieval by the reference",
                   _adapter_publishes, call, 20, None)
        yield _run(4, "prekey publication by the reference, retrieval by the adapter",
                   _adapter_retrieves, call, 21, None)
