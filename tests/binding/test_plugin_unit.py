"""The ``xep_otr4`` slixmpp plugin on slixmpp's mock socket (no server).

A second device is simulated with the plugin's engine
(:class:`~otrv4_xmpp.engine.DeviceEngine`): the test feeds
the plugin the stanzas that device would send and reads back what the plugin
writes on the socket.
"""

from __future__ import annotations

import base64
from typing import Any
from xml.etree import ElementTree as etree_std

import pytest
from lxml import etree
from slixmpp.test import SlixTest

import otrv4_xmpp.slixmpp_plugin  # noqa: F401  (registers xep_otr4)
from otrv4.clock import FixedClock
from otrv4.encoding import MessageType, peek_message_type
from otrv4.primitives.rng import DeterministicRng
from otrv4_xepgen.paths import PROJECT_ROOT, find_xsf
from otrv4_xmpp import devices
from otrv4_xmpp.engine import DeviceEngine, DeviceIdentity
from otrv4_xmpp.namespaces import NS_CARBONS, NS_DEVICES, NS_EME, NS_HINTS, NS_OTR4
from otrv4_xmpp.slixmpp_plugin.plugin import XEP_OTR4, NoRecipientsError
from otrv4_xmpp.trust import TrustPolicy
from otrv4_xmpp.validation import StanzaValidator, split_stanzas

NOW = 1_800_000_000
ME = "juliet@localhost/balcony"
ROMEO = "romeo@localhost/garden"


def full_validator() -> StanzaValidator | None:
    found = find_xsf()
    if found.dtd_dir is None or found.schemas is None:
        return None
    return StanzaValidator(found.schema_locations(PROJECT_ROOT / "schemas"))


class PluginBase(SlixTest):
    """The plugin on a mock stream, and a simulated device of Romeo's."""

    def setUp(self) -> None:
        self.clock = FixedClock(NOW)
        self.stream_start(mode="client", jid=ME, plugins=["xep_0030", "xep_otr4"],
                          plugin_config={"xep_otr4": {
                              "rng": DeterministicRng("unit/juliet"), "clock": self.clock,
                              "catch_up_on_start": False, "timer_seconds": 0,
                              "offline_start": False, "prekeys_on_start": False}})
        self.otr: XEP_OTR4 = self.xmpp.plugin["xep_otr4"]  # type: ignore[typeddict-item]
        self.errors: list[Any] = []
        self.messages: list[Any] = []
        self.started: list[Any] = []
        self.xmpp.add_event_handler("otr4_error", self.errors.append)
        self.xmpp.add_event_handler("otr4_message", self.messages.append)
        self.xmpp.add_event_handler("otr4_session_started", self.started.append)
        self.romeo = DeviceEngine(
            DeviceIdentity.generate(DeterministicRng("unit/romeo"), self.clock),
            "romeo@localhost", rng=DeterministicRng("unit/romeo/run"), clock=self.clock)

    def tearDown(self) -> None:
        self.stream_close()

    # -- helpers ------------------------------------------------------------------------------

    def sent(self) -> etree._Element | None:
        """The next stanza the plugin wrote, parsed (None when nothing was sent)."""
        self.wait_for_send_queue()
        socket: Any = self.xmpp.socket  # slixmpp's TestSocket
        raw = socket.next_sent(0.2)
        if raw is None:
            return None
        _, stanzas = split_stanzas(raw if isinstance(raw, str) else raw.decode())
        return stanzas[0]

    def otr_stanza(self, data: bytes, receiver: int, *, sender: str = ROMEO,
                   to: str = ME, extra: str = "") -> str:
        payload = base64.b64encode(data).decode()
        return (f"<message from='{sender}' to='{to}' type='chat' id='m1'>"
                f"<body>fallback</body><otr xmlns='{NS_OTR4}' "
                f"sender='{self.romeo.instance_tag:08x}'><payload receiver='{receiver:08x}'>"
                f"{payload}</payload></otr>{extra}</message>")

    def complete_dake(self) -> None:
        """Romeo starts a DAKE with our full JID and finishes it through the plugin."""
        identity = self.romeo.start_dake(ME).payloads[0]
        self.recv(self.otr_stanza(identity, 0))
        auth_r = self.payload_of(self.sent())
        out = self.romeo.receive(ME, auth_r)
        assert out.established
        self.recv(self.otr_stanza(out.payloads[0], self.otr.instance_tag))
        self.wait_()

    @staticmethod
    def payload_of(stanza: etree._Element | None) -> bytes:
        assert stanza is not None
        p = stanza.find(f"{{{NS_OTR4}}}otr/{{{NS_OTR4}}}payload")
        assert p is not None and p.text
        return base64.b64decode(p.text)


class PluginTest(PluginBase):

    def test_disco_info_lists_the_feature_and_device_notifications(self) -> None:
        self.recv(f"<iq type='get' id='d1' from='{ROMEO}' to='{ME}'>"
                  "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        reply = self.sent()
        assert reply is not None
        features = {f.get("var") for f in reply.iter("{http://jabber.org/protocol/disco#info}"
                                                     "feature")}
        assert NS_OTR4 in features
        assert f"{NS_DEVICES}+notify" in features

    def test_live_identity_is_answered_with_auth_r_to_that_full_jid(self) -> None:
        identity = self.romeo.start_dake(ME).payloads[0]
        self.recv(self.otr_stanza(identity, 0))
        reply = self.sent()
        assert reply is not None
        assert reply.get("to") == ROMEO and reply.get("type") == "chat"
        data = self.payload_of(reply)
        assert peek_message_type(data) is MessageType.AUTH_R
        otr = reply.find(f"{{{NS_OTR4}}}otr")
        assert otr is not None and otr.get("sender") == f"{self.otr.instance_tag:08x}"
        assert otr[0].get("receiver") == f"{self.romeo.instance_tag:08x}"
        # Live delivery: not stored, not copied; body first, EME marker present.
        children = [etree.QName(c).localname for c in reply]
        assert children[0] == "body"
        assert reply.find(f"{{{NS_HINTS}}}no-store") is not None
        assert reply.find(f"{{{NS_HINTS}}}no-copy") is not None
        assert reply.find(f"{{{NS_CARBONS}}}private") is not None
        eme = reply.find(f"{{{NS_EME}}}encryption")
        assert eme is not None and eme.get("namespace") == NS_OTR4
        validator = full_validator()
        if validator is not None:
            assert validator.validate_elements([reply]) == []

    def test_a_sent_stanza_goes_out_as_the_text_lxml_made(self) -> None:
        """The stanza is serialized once, by lxml (slixmpp's serializer would leave out
        the stream's default namespace on the root), and goes through the send queue."""
        identity = self.romeo.start_dake(ME).payloads[0]
        self.recv(self.otr_stanza(identity, 0))
        self.wait_for_send_queue()
        socket: Any = self.xmpp.socket
        raw = socket.next_sent(0.2)
        text = raw if isinstance(raw, str) else raw.decode()
        assert text.startswith('<message xmlns="jabber:client" ')
        parsed = etree.fromstring(text)
        assert etree.tostring(parsed, encoding="utf-8").decode() == text
        assert peek_message_type(self.payload_of(parsed)) is MessageType.AUTH_R

    def test_an_outgoing_filter_that_changes_the_stanza_is_honoured(self) -> None:
        """A filter of another plugin that adds to the stanza: slixmpp serializes the
        changed stanza, nothing of it is lost."""
        def add_marker(stanza: Any) -> Any:
            if stanza.xml.tag == "{jabber:client}message":
                stanza.xml.append(etree_std.Element("{urn:example:filter}marker"))
            return stanza
        self.xmpp.add_filter("out", add_marker)
        identity = self.romeo.start_dake(ME).payloads[0]
        self.recv(self.otr_stanza(identity, 0))
        reply = self.sent()
        assert reply is not None
        assert reply.find("{urn:example:filter}marker") is not None
        assert peek_message_type(self.payload_of(reply)) is MessageType.AUTH_R

    def test_groupchat_otr_is_ignored_unanswered_and_reported(self) -> None:
        """Binding §Group Chat: nothing is processed or sent; the user is told."""
        identity = self.romeo.start_dake(ME).payloads[0]
        self.recv(self.otr_stanza(identity, 0).replace("type='chat'", "type='groupchat'"))
        assert self.sent() is None and self.started == []
        [err] = self.errors
        assert "group chat" in err.reason

    def test_completed_dake_raises_session_started(self) -> None:
        self.complete_dake()
        [s] = self.started
        assert s.peer == "romeo@localhost" and s.full_jid == ROMEO
        assert s.tag == self.romeo.instance_tag
        assert s.fingerprint == self.romeo.identity.fingerprint
        assert s.ssid == self.romeo.session("juliet@localhost",
                                            self.otr.instance_tag).ssid.hex()

    def test_identity_in_a_carbon_is_ignored(self) -> None:
        identity = self.romeo.start_dake(ME).payloads[0]
        inner = self.otr_stanza(identity, 0, to="juliet@localhost/phone").replace(
            "<message ", "<message xmlns='jabber:client' ")
        self.recv(f"<message from='juliet@localhost' to='{ME}' type='chat'>"
                  f"<received xmlns='{NS_CARBONS}'><forwarded xmlns='urn:xmpp:forward:0'>"
                  f"{inner}</forwarded></received></message>")
        assert self.sent() is None
        assert self.otr.engine.pending == {}
        assert self.errors == []

    def test_identity_not_addressed_to_our_full_jid_is_ignored(self) -> None:
        identity = self.romeo.start_dake(ME).payloads[0]
        self.recv(self.otr_stanza(identity, 0, to="juliet@localhost"))
        assert self.sent() is None
        assert self.otr.engine.pending == {}

    def test_data_message_is_shown_once_whatever_the_path(self) -> None:
        self.complete_dake()
        data = self.romeo.send("juliet@localhost", self.otr.instance_tag, "hello").payloads[0]
        stanza = self.otr_stanza(data, self.otr.instance_tag, to="juliet@localhost")
        self.recv(stanza)
        self.recv(stanza)  # the same payload again (offline storage, archive, ...)
        assert [m.text for m in self.messages] == ["hello"]
        m = self.messages[0]
        assert m.sender == ROMEO and m.sender_tag == self.romeo.instance_tag
        assert m.via == "live" and not m.outgoing

    def test_invalid_otr_element_is_dropped_with_a_reason(self) -> None:
        tag = f"{self.otr.instance_tag:08x}"
        self.recv(f"<message from='{ROMEO}' to='{ME}' type='chat'><body>x</body>"
                  f"<otr xmlns='{NS_OTR4}' sender='{self.romeo.instance_tag:08x}'>"
                  f"<payload receiver='{tag}'>not base64!</payload></otr></message>")
        [err] = self.errors
        assert err.sender == ROMEO
        assert err.reason.startswith("invalid OTRv4 stanza dropped")
        assert self.messages == [] and self.sent() is None

    def test_stanza_without_payload_for_this_device_is_skipped_silently(self) -> None:
        # Romeo talks to another device of Juliet's; that stanza reaches us too.
        phone = DeviceEngine(DeviceIdentity.generate(DeterministicRng("unit/phone"),
                                                      self.clock),
                              "juliet@localhost", rng=DeterministicRng("unit/phone/run"),
                              clock=self.clock)
        out = self.romeo.start_dake("juliet@localhost/phone")
        out = phone.receive(ROMEO, out.payloads[0])
        out = self.romeo.receive("juliet@localhost/phone", out.payloads[0])
        phone.receive(ROMEO, out.payloads[0])
        data = self.romeo.send("juliet@localhost", phone.instance_tag, "hello").payloads[0]
        self.recv(self.otr_stanza(data, phone.instance_tag, to="juliet@localhost"))
        assert self.messages == [] and self.errors == [] and self.sent() is None

    def test_data_without_session_reports_it_could_not_be_decrypted(self) -> None:
        other = DeviceEngine(DeviceIdentity.generate(DeterministicRng("unit/x"), self.clock),
                              "romeo@localhost", rng=DeterministicRng("unit/x/run"),
                              clock=self.clock)
        peer = DeviceEngine(DeviceIdentity.generate(DeterministicRng("unit/y"), self.clock),
                             "juliet@localhost", rng=DeterministicRng("unit/y/run"),
                             clock=self.clock,)
        out = other.start_dake("juliet@localhost/y")
        auth_r = peer.receive("romeo@localhost/x", out.payloads[0])
        auth_i = other.receive("juliet@localhost/y", auth_r.payloads[0])
        peer.receive("romeo@localhost/x", auth_i.payloads[0])
        data = other.send("juliet@localhost", peer.instance_tag, "lost").payloads[0]
        # Re-address the payload to us: we have no session with that instance.
        forged = bytearray(data)
        forged[7:11] = self.otr.instance_tag.to_bytes(4, "big")
        self.recv(f"<message from='romeo@localhost/x' to='juliet@localhost' type='chat'>"
                  f"<body>x</body><otr xmlns='{NS_OTR4}' sender='{other.instance_tag:08x}'>"
                  f"<payload receiver='{self.otr.instance_tag:08x}'>"
                  f"{base64.b64encode(bytes(forged)).decode()}</payload></otr></message>")
        [err] = self.errors
        assert "could not be decrypted" in err.reason
        assert self.messages == []

    def test_send_message_fans_out_in_one_stanza_to_the_bare_jid(self) -> None:
        self.complete_dake()
        self.otr.device_lists["romeo@localhost"] = devices.DeviceList.of([
            devices.DeviceEntry(self.romeo.instance_tag, devices.DeviceMode.STANDALONE,
                                NOW + 3600),
            devices.DeviceEntry(0x00C0FFEE, devices.DeviceMode.STANDALONE, NOW + 3600),
            devices.DeviceEntry(0x00DEAD00, devices.DeviceMode.STANDALONE, NOW - 1),
        ])
        self.otr.device_lists["juliet@localhost"] = devices.DeviceList()
        report = self.run_coro(self.otr.send_message("romeo@localhost", "wherefore"))
        assert report.recipients == (("romeo@localhost", self.romeo.instance_tag),)
        # The listed device without a session is reported; the expired one is ignored.
        assert report.missing == (("romeo@localhost", 0x00C0FFEE),)
        stanza = self.sent()
        assert stanza is not None
        assert stanza.get("to") == "romeo@localhost"
        assert stanza.find(f"{{{NS_HINTS}}}store") is not None
        assert stanza.find(f"{{{NS_CARBONS}}}private") is None
        got = self.romeo.receive(ME, self.payload_of(stanza))
        assert got.displays == ("wherefore",)
        validator = full_validator()
        if validator is not None:
            assert validator.validate_elements([stanza]) == []

    def test_send_message_without_any_session_is_refused(self) -> None:
        self.otr.device_lists["romeo@localhost"] = devices.DeviceList()
        self.otr.device_lists["juliet@localhost"] = devices.DeviceList()
        with pytest.raises(NoRecipientsError):
            self.run_coro(self.otr.send_message("romeo@localhost", "hello?"))
        assert self.sent() is None

    def test_device_list_notification_updates_the_cache(self) -> None:
        dl = devices.DeviceList.of([devices.DeviceEntry(
            self.romeo.instance_tag, devices.DeviceMode.INTERACTIVE_ONLY, NOW + 60, "garden")])
        event = devices.build_event(dl, owner="romeo@localhost", to=ME, stanza_id="e1")
        self.recv(etree.tostring(event).decode())
        assert self.otr.device_lists["romeo@localhost"] == dl
        assert self.errors == []

    def test_malformed_device_list_notification_is_dropped(self) -> None:
        self.recv(f"<message from='romeo@localhost' to='{ME}' type='headline'>"
                  "<event xmlns='http://jabber.org/protocol/pubsub#event'>"
                  f"<items node='{NS_DEVICES}'><item id='current'>"
                  f"<devices xmlns='{NS_DEVICES}'><device tag='zz' mode='standalone' "
                  "expires='2027-01-01T00:00:00Z'/></devices></item></items></event></message>")
        assert "romeo@localhost" not in self.otr.device_lists
        [err] = self.errors
        assert "device-list notification dropped" in err.reason


class CompatTest(PluginBase):
    """A client that knows only otrv4.md: OTR text in ``<body/>``, no ``<otr/>``."""

    def body(self, data: bytes, *, to: str = ME) -> str:
        from otrv4.encoding import encode_message
        return (f"<message from='{ROMEO}' to='{to}' type='chat'>"
                f"<body>{encode_message(data)}</body></message>")

    def sent_body(self) -> bytes:
        from otrv4.encoding import decode_encoded_message
        stanza = self.sent()
        assert stanza is not None
        assert stanza.find(f"{{{NS_OTR4}}}otr") is None  # the peer cannot read <otr/>
        assert stanza.get("to") == ROMEO
        body = stanza.find("{jabber:client}body")
        assert body is not None and body.text is not None
        return decode_encoded_message(body.text)

    def test_dake_and_messages_in_bodies(self) -> None:
        self.recv(self.body(self.romeo.start_dake(ME).payloads[0]))
        auth_r = self.sent_body()
        assert peek_message_type(auth_r) is MessageType.AUTH_R
        out = self.romeo.receive(ME, auth_r)
        self.recv(self.body(out.payloads[0]))
        self.wait_()
        assert [s.tag for s in self.started] == [self.romeo.instance_tag]
        data = self.romeo.send("juliet@localhost", self.otr.instance_tag, "plain old otrv4")
        self.recv(self.body(data.payloads[0], to="juliet@localhost/balcony"))
        assert [m.text for m in self.messages] == ["plain old otrv4"]
        self.otr.device_lists["romeo@localhost"] = devices.DeviceList()
        self.otr.device_lists["juliet@localhost"] = devices.DeviceList()
        report = self.run_coro(self.otr.send_message("romeo@localhost", "answered in a body"))
        assert report.recipients == (("romeo@localhost", self.romeo.instance_tag),)
        got = self.romeo.receive(ME, self.sent_body())
        assert got.displays == ("answered in a body",)

    def test_fragmented_identity_in_bodies_is_reassembled_in_any_order(self) -> None:
        from otrv4.encoding import encode_message
        from otrv4.fragment import fragment_message
        from otrv4.primitives.rng import DeterministicRng
        identity = self.romeo.start_dake(ME).payloads[0]
        pieces = fragment_message(encode_message(identity), 400, self.romeo.instance_tag,
                                  0, DeterministicRng("fragments"))
        assert len(pieces) >= 3
        for piece in reversed(pieces[1:]):
            self.recv(f"<message from='{ROMEO}' to='{ME}' type='chat'>"
                      f"<body>{piece}</body></message>")
            assert self.sent() is None  # nothing until the last piece arrives
        self.recv(f"<message from='{ROMEO}' to='{ME}' type='chat'>"
                  f"<body>{pieces[0]}</body></message>")
        assert peek_message_type(self.sent_body()) is MessageType.AUTH_R

    def test_broken_fragment_is_reported_and_dropped(self) -> None:
        self.recv(f"<message from='{ROMEO}' to='{ME}' type='chat'>"
                  "<body>?OTR|00000001|00000100|00000000,00002,00001,abc,</body></message>")
        self.recv(f"<message from='{ROMEO}' to='{ME}' type='chat'>"
                  "<body>?OTR|00000001|00000100|00000000,00003,00001,abc,</body></message>")
        assert self.sent() is None
        assert any("fragment dropped" in str(e.reason) for e in self.errors), self.errors

    def test_body_for_another_instance_is_ignored(self) -> None:
        identity = bytearray(self.romeo.start_dake(ME).payloads[0])
        identity[7:11] = (0x0BADCAFE).to_bytes(4, "big")
        self.recv(self.body(bytes(identity)))
        assert self.sent() is None and self.otr.engine.pending == {}

    def test_query_message_is_refused_quietly(self) -> None:
        self.recv(f"<message from='{ROMEO}' to='{ME}' type='chat'><body>?OTRv4?</body></message>")
        assert self.sent() is None and self.errors == [] and self.messages == []


class TrustTest(PluginBase):
    """The ``trust`` setting: devices the user has not confirmed get nothing."""

    def test_unconfirmed_device_is_left_out_and_reported(self) -> None:
        asked: list[tuple[str, int, str]] = []

        def trust(account: str, tag: int, fingerprint: str) -> bool:
            asked.append((account, tag, fingerprint))
            return False

        self.otr.engine.trust.policy = TrustPolicy.ASK
        self.otr.engine.trust.ask = trust
        self.complete_dake()
        self.otr.device_lists["romeo@localhost"] = devices.DeviceList.of([devices.DeviceEntry(
            self.romeo.instance_tag, devices.DeviceMode.STANDALONE, NOW + 3600)])
        self.otr.device_lists["juliet@localhost"] = devices.DeviceList()
        with pytest.raises(NoRecipientsError):
            self.run_coro(self.otr.send_message("romeo@localhost", "secret"))
        assert asked == [("romeo@localhost", self.romeo.instance_tag,
                          self.romeo.identity.fingerprint)]
        assert self.sent() is None
        self.otr.engine.trust.ask = lambda account, tag, fp: fp == asked[0][2]
        report = self.run_coro(self.otr.send_message("romeo@localhost", "now"))
        assert report.untrusted == ()
        assert report.recipients == (("romeo@localhost", self.romeo.instance_tag),)
