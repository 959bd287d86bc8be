"""The live-session operations (``device.*``), implemented over the reference engine.

Levels 2 and 3 of the harness are checked by running real sessions between
the adapter's device and a reference device: the runner carries the bytes
each side produces to the other side, exactly as the XMPP layer would.  Both
the reference adapter and the runner's own peer are a :class:`LiveDevice`,
so the reference side of every session speaks exactly the adapter protocol.

An *outcome* (the reply to every call that moves a conversation) is::

    {"send": ["<hex OTRv4 message>", …], "display": ["text", …],
     "smp": ["question:<text>" | "succeeded" | "failed" | "aborted", …],
     "established": true | false, "notices": ["…", …], "rejected": "<error class>"}

``notices`` (optional) are free text for the report; ``rejected`` (optional)
names the error class of a received message the device ignored, so that a
failed DAKE is reported with the rule the sender broke.

The device (:class:`otrv4_xmpp.engine.DeviceEngine`) drops SMP progress from its
outcomes, so data messages and SMP requests are stepped here through
:func:`otrv4.session.step` on the engine's pair session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otrv4 import dake, xzdh
from otrv4.clock import Clock, FixedClock
from otrv4.data_message import DataMessage
from otrv4.encoding import MessageType, decode_encoded_message, peek_message_type
from otrv4.errors import OTRError
from otrv4.keys import fingerprint
from otrv4.messages import PrekeyMessage
from otrv4.prekeys import PrekeyEnsemble, PrekeySecret
from otrv4.primitives.rng import DeterministicRng, Rng
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4.session import Display, Event, Notice, ProtocolState, Send, SmpUpdate, step
from otrv4.smp import SmpOutcome
from otrv4_prekey.client import PublisherClient, query
from otrv4_prekey.retrieval import Ensembles, read_answer
from otrv4_xmpp.engine import DeviceEngine, DeviceIdentity, Outcome, PairSession, bare_of

__all__ = ["LiveDevice", "decode_ensemble", "encode_ensemble", "read_ensembles"]


def encode_ensemble(e: PrekeyEnsemble) -> dict[str, str]:
    """A Prekey Ensemble as the protocol carries it (three hex wire encodings)."""
    return {"clientProfile": e.client_profile.encode().hex(),
            "prekeyProfile": e.prekey_profile.encode().hex(),
            "prekeyMessage": e.prekey_message.encode().hex()}


def decode_ensemble(d: dict[str, str]) -> PrekeyEnsemble:
    """The inverse of :func:`encode_ensemble`; raises the decoding errors of each part."""
    return PrekeyEnsemble(ClientProfile.decode(bytes.fromhex(d["clientProfile"])),
                          PrekeyProfile.decode(bytes.fromhex(d["prekeyProfile"])),
                          PrekeyMessage.decode(bytes.fromhex(d["prekeyMessage"])))


def read_ensembles(answer: bytes, our_tag: int, identity: str, clock: Clock
                   ) -> list[dict[str, str]]:
    """The ensembles of a prekey server's answer to instance ``our_tag``'s query for
    ``identity``, as the protocol carries them (none when the server had none).  Raises
    the errors of :func:`otrv4_prekey.retrieval.read_answer`."""
    got = read_answer(answer, our_tag, identity, clock)
    if not isinstance(got, Ensembles):
        return []
    return [encode_ensemble(e) for _, e in sorted(got.by_tag.items())]


def _smp_text(update: SmpUpdate) -> str:
    if update.outcome is SmpOutcome.QUESTION:
        return "question:" + (update.question or b"").decode("utf-8", "replace")
    return update.outcome.name.lower()


def _notice_text(n: Notice) -> str:
    return f"{n.kind.name.lower()}: {n.detail}" if n.detail else n.kind.name.lower()


class LiveDevice:
    """One device of a live session: ``jid`` is its full JID, ``now`` the time its
    (fixed) clock shows."""

    def __init__(self, jid: str, now: int, rng: Rng) -> None:
        self.jid = jid
        self.clock = FixedClock(now)
        self.rng = rng
        identity = DeviceIdentity.generate(rng, self.clock)
        self.engine = DeviceEngine(identity, bare_of(jid), rng=rng, clock=self.clock)
        self._publisher: PublisherClient | None = None
        self._publishing: tuple[PrekeySecret, ...] = ()

    def hello(self) -> dict[str, Any]:
        """``device.new``'s reply: instance tag and the long-term fingerprint (hex)."""
        ident = self.engine.identity
        return {"tag": self.engine.instance_tag,
                "fingerprint": fingerprint(ident.keypair.public, ident.forging_key.public).hex()}

    @staticmethod
    def _outcome(out: Outcome, smp: Sequence[str] = ()) -> dict[str, Any]:
        return {"send": [p.hex() for p in out.payloads], "display": list(out.displays),
                "smp": list(smp), "established": out.established,
                "notices": [_notice_text(n) for n in out.notices]}

    @staticmethod
    def _rejection(pair: PairSession | None, kind: MessageType, data: bytes) -> str | None:
        """The error class the state machine swallowed when it ignored DAKE message ``data``
        (the session is unchanged after an ignored message, so the DAKE step is replayed on
        it, with a throw-away rng)."""
        if pair is None:
            return None
        s, rng = pair.session, DeterministicRng("otrv4-conformance diagnosis")
        try:
            if kind is MessageType.IDENTITY:
                state = s.dake_state if s.state in (ProtocolState.WAITING_AUTH_R,
                                                    ProtocolState.WAITING_AUTH_I) else dake.START
                dake.receive_identity(s.ctx, state, data, rng)
            elif kind is MessageType.AUTH_R:
                dake.receive_auth_r(s.ctx, s.dake_state, data, rng)
            elif kind is MessageType.AUTH_I:
                dake.receive_auth_i(s.ctx, s.dake_state, data, rng)
            elif kind is MessageType.NON_INTERACTIVE_AUTH and s.local_prekeys is not None:
                xzdh.receive_non_interactive_auth(s.ctx, s.local_prekeys, data)
        except OTRError as e:
            return type(e).__name__
        return None

    def _step(self, pair: PairSession, event: Event, inp: object) -> dict[str, Any]:
        new, outputs = step(pair.session, event, inp, self.rng, self.clock)
        pair.session = new
        send = [decode_encoded_message(o.text).hex() for o in outputs
                if isinstance(o, Send) and o.text.startswith("?OTR:")]
        return {"send": send,
                "display": [o.text for o in outputs if isinstance(o, Display)],
                "smp": [_smp_text(o) for o in outputs if isinstance(o, SmpUpdate)],
                "established": False,
                "notices": [_notice_text(o) for o in outputs if isinstance(o, Notice)]}

    # -- the operations ------------------------------------------------------------------

    def start(self, peer: str) -> dict[str, Any]:
        """``device.start``: an Identity message to the device at full JID ``peer``."""
        return self._outcome(self.engine.start_dake(peer))

    def receive(self, sender: str, message: bytes) -> dict[str, Any]:
        """``device.receive``: an OTRv4 message from the device at full JID ``sender``.
        Raises what the engine raises for a message it rejects."""
        kind = peek_message_type(message)
        if kind is MessageType.DATA:
            decoded = DataMessage.decode(message)
            pair = self.engine.session(sender, decoded.sender_tag)
            return self._step(pair, Event.DATA, decoded)
        out = self.engine.receive(sender, message)
        result = self._outcome(out)
        if not out.payloads and not out.established:
            rejected = self._rejection(out.pair, kind, message)
            if rejected:
                result["rejected"] = rejected
        return result

    def send(self, peer: str, tag: int, text: str) -> dict[str, Any]:
        """``device.send``: a data message with ``text`` to device ``tag`` of ``peer``."""
        return self._outcome(self.engine.send(peer, tag, text))

    def session(self, peer: str, tag: int) -> dict[str, Any]:
        """``device.session``: the SSID, the peer's fingerprint (hex) and whether encrypted."""
        pair = self.engine.session(peer, tag)
        theirs = pair.session.their_fingerprint or b""
        return {"ssid": pair.ssid.hex(), "fingerprint": theirs.hex(),
                "encrypted": pair.encrypted}

    def prekeys(self, count: int) -> dict[str, Any]:
        """``device.prekeys``: ``count`` Prekey Ensembles of this device, whose secrets
        it keeps (as published)."""
        secrets = self.engine.new_prekeys(count)
        self.engine.prekeys_published(secrets)
        return {"ensembles": [encode_ensemble(e) for e in self.engine.ensembles(secrets)]}

    def send_offline(self, peer: str, ensemble: PrekeyEnsemble, text: str) -> dict[str, Any]:
        """``device.send_offline``: a Non-Interactive-Auth message from ``ensemble``, then
        ``text``."""
        return self._outcome(self.engine.send_offline(peer, ensemble, text))

    def smp_start(self, peer: str, tag: int, secret: str, question: str) -> dict[str, Any]:
        """``device.smp_start``: SMP message 1 (with ``question`` when not empty)."""
        return self._step(self.engine.session(peer, tag), Event.USER_SMP_START,
                          (secret, question))

    def smp_answer(self, peer: str, tag: int, secret: str) -> dict[str, Any]:
        """``device.smp_answer``: answer the peer's SMP question (SMP message 2)."""
        return self._step(self.engine.session(peer, tag), Event.USER_SMP_ANSWER, secret)

    # -- the prekey server (level 4) ----------------------------------------------------

    def publish_start(self, server: str, server_fingerprint: bytes, count: int
                      ) -> dict[str, Any]:
        """``prekey.publish_start``: DAKE-1 to the prekey server ``server`` (whose long-term
        key has ``server_fingerprint``), for a publication of ``count`` new Prekey
        messages with this device's Client and Prekey Profiles."""
        self._publisher = PublisherClient(self.engine.identity.publisher(bare_of(self.jid)),
                                          server, self.rng, server_fingerprint)
        self._publishing = self.engine.new_prekeys(count)
        return {"message": self._publisher.start().hex()}

    def publish_dake2(self, dake2: bytes) -> dict[str, Any]:
        """``prekey.publish_dake2``: check DAKE-2, answer DAKE-3 with the Prekey Publication.
        Raises :class:`KeyError` before ``publish_start``, and the client's errors."""
        if self._publisher is None:
            raise KeyError("prekey.publish_start first")
        ident = self.engine.identity
        return {"message": self._publisher.publish(
            dake2, self._publishing, client_profile=ident.client_profile,
            prekey_profile=ident.shared()).hex()}

    def publish_finish(self, reply: bytes) -> dict[str, Any]:
        """``prekey.publish_finish``: the server's Success message; the published secrets are
        kept from now on.  Raises the client's errors (a Failure message included)."""
        if self._publisher is None:
            raise KeyError("prekey.publish_start first")
        self._publisher.finish(reply)
        self.engine.prekeys_published(self._publishing)
        self._publisher, self._publishing = None, ()
        return {}

    def prekey_query(self, identity: str) -> dict[str, Any]:
        """``prekey.query``: a Prekey Ensemble Query Retrieval message for ``identity``."""
        return {"message": query(self.engine.instance_tag, identity).hex()}

    def prekey_answer(self, identity: str, answer: bytes) -> dict[str, Any]:
        """``prekey.answer``: read the server's answer; ``ensembles`` (one per device, by
        ascending tag) or none when the server had none.  Raises the retrieval errors."""
        return {"ensembles": read_ensembles(answer, self.engine.instance_tag, identity,
                                            self.clock)}

    def call(self, op: str, a: dict[str, Any]) -> dict[str, Any]:
        """Dispatch one ``device.*`` or ``prekey.*`` operation (other than ``device.new``).
        Raises :class:`KeyError` for an unknown operation or a missing argument."""
        if op == "device.start":
            return self.start(a["peer"])
        if op == "device.receive":
            return self.receive(a["from"], bytes.fromhex(a["message"]))
        if op == "device.send":
            return self.send(a["peer"], a["tag"], a["text"])
        if op == "device.session":
            return self.session(a["peer"], a["tag"])
        if op == "device.prekeys":
            return self.prekeys(a["count"])
        if op == "device.send_offline":
            return self.send_offline(a["peer"], decode_ensemble(a["ensemble"]), a["text"])
        if op == "device.smp_start":
            return self.smp_start(a["peer"], a["tag"], a["secret"], a.get("question", ""))
        if op == "device.smp_answer":
            return self.smp_answer(a["peer"], a["tag"], a["secret"])
        if op == "prekey.publish_start":
            return self.publish_start(a["server"], bytes.fromhex(a["serverFingerprint"]),
                                      a["count"])
        if op == "prekey.publish_dake2":
            return self.publish_dake2(bytes.fromhex(a["message"]))
        if op == "prekey.publish_finish":
            return self.publish_finish(bytes.fromhex(a["message"]))
        if op == "prekey.query":
            return self.prekey_query(a["identity"])
        if op == "prekey.answer":
            return self.prekey_answer(a["identity"], bytes.fromhex(a["message"]))
        raise KeyError(op)
