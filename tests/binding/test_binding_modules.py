"""Stanza errors, ?OTR: bodies, the SCE profile, the device engine, and the binding's scenarios."""

from __future__ import annotations

import pytest
from lxml import etree

from otrv4.clock import FixedClock
from otrv4.encoding import Header, MessageType, Reader, peek_message_type
from otrv4.modes import Mode, PrekeyPublicationRefusedError
from otrv4.primitives.rng import DeterministicRng
from otrv4.session import NoticeKind
from otrv4_devtools.multidevice import Device
from otrv4_xepgen.examples import run_scenarios
from otrv4_xepgen.scenarios import CHAPTERS, all_scenarios
from otrv4_xmpp import compat, sce
from otrv4_xmpp import errors as e
from otrv4_xmpp.carriage import AddressingError, Delivery
from otrv4_xmpp.engine import DeviceEngine, DeviceIdentity, NoSessionError
from otrv4_xmpp.namespaces import NS_CLIENT, NS_EME, NS_HINTS, NS_OTR4, NS_SCE, NS_STANZAS
from otrv4_xmpp.validation import StanzaValidator

from ._pairs import NOW, pair


def test_error_stanza_exact() -> None:
    msg = e.build_error(e.Condition.NO_PAYLOAD_FOR_DEVICE, reporter_tag=0xABCD,
                        sender="romeo@montague.lit/tablet", to="juliet@capulet.lit/balcony",
                        stanza_id="msg7")
    err = msg.find(f"{{{NS_CLIENT}}}error")
    assert msg.get("type") == "error" and err is not None and err.get("type") == "cancel"
    assert [c.tag for c in err] == [f"{{{NS_STANZAS}}}item-not-found",
                                    f"{{{NS_OTR4}}}no-payload-for-device"]
    assert err[1].get("tag") == "0000abcd"


def test_error_parse_failures() -> None:
    with pytest.raises(e.NotAStanzaError):
        e.parse_error(etree.fromstring(f"<message xmlns='{NS_CLIENT}' type='chat'/>"))
    plain = etree.fromstring(
        f"<message xmlns='{NS_CLIENT}' type='error'><error type='cancel'>"
        f"<item-not-found xmlns='{NS_STANZAS}'/></error></message>")
    with pytest.raises(e.NotAStanzaError):
        e.parse_error(plain)
    unknown = etree.fromstring(
        f"<message xmlns='{NS_CLIENT}' type='error'><error type='cancel'>"
        f"<item-not-found xmlns='{NS_STANZAS}'/><gone-away xmlns='{NS_OTR4}' tag='00000200'/>"
        "</error></message>")
    with pytest.raises(e.NotAStanzaError):
        e.parse_error(unknown)


def test_every_condition_is_in_the_schema() -> None:
    from otrv4_xmpp.validation import default_schema_dir
    xsd = (default_schema_dir() / "otr4.xsd").read_text(encoding="utf-8")
    for cond in e.Condition:
        assert f"<xs:element name='{cond.value}' type='deviceCondition'/>" in xsd


@pytest.mark.parametrize(("text", "kind"), [
    ("?OTRv4? please", compat.BodyKind.QUERY),
    ("?OTR Error: ERROR_2: x", compat.BodyKind.ERROR),
    ("?OTR|00000100|00000200,1,2,abc,", compat.BodyKind.FRAGMENT),
    ("hello \x20\x09\x20\x20\x09\x09\x09\x09\x20\x09\x20\x09\x20\x09\x20\x20\x20\x20\x09\x09"
     "\x20\x09\x20\x20", compat.BodyKind.WHITESPACE_TAGGED),
])
def test_compat_kinds(text: str, kind: compat.BodyKind) -> None:
    msg = compat.build_body_message(text, sender="r@m/d", to="j@c/b", stanza_id="x")
    got = compat.parse_body_message(msg)
    assert (got.kind, got.text, got.message) == (kind, text, None)
    hints = [etree.QName(c).localname for c in msg if etree.QName(c).namespace == NS_HINTS]
    assert hints == ["no-store", "no-copy"]


def test_compat_encoded_and_rules() -> None:
    encoded = compat.encoded_body(b"\x00\x04\x35" + bytes(8))
    got = compat.parse_body_message(compat.build_body_message(
        encoded, sender="r@m/d", to="j@c", stanza_id="x", delivery=Delivery.STORED))
    assert got.kind is compat.BodyKind.ENCODED and got.message == b"\x00\x04\x35" + bytes(8)
    with pytest.raises(compat.NotACompatBodyError):
        compat.build_body_message("just words", sender="r@m/d", to="j@c/b", stanza_id="x")
    with pytest.raises(AddressingError):
        compat.build_body_message("?OTRv4?", sender="r@m/d", to="j@c", stanza_id="x")
    for bad in (f"<message xmlns='{NS_CLIENT}'/>",
                f"<message xmlns='{NS_CLIENT}'><body>words</body></message>",
                f"<message xmlns='{NS_CLIENT}'><body>?OTRv4?</body>"
                f"<otr xmlns='{NS_OTR4}' sender='00000100'/></message>"):
        with pytest.raises(compat.NotACompatBodyError):
            compat.parse_body_message(etree.fromstring(bad))


def _body(text: str) -> etree._Element:
    b = etree.Element(f"{{{NS_CLIENT}}}body")
    b.text = text
    return b


def test_sce_profile() -> None:
    env = sce.build_envelope([_body("hi")], from_jid="juliet@capulet.lit/balcony", time=NOW)
    assert [etree.QName(c).localname for c in env] == ["content", "time", "from"]
    plain = sce.envelope_plaintext(env)
    assert plain.startswith(b"<envelope xmlns=")
    got = sce.parse_envelope(plain, peer="juliet@capulet.lit")
    assert got.from_jid == "juliet@capulet.lit" and got.stamp == "2026-04-23T12:00:00Z"
    with pytest.raises(sce.FromMismatchError):
        sce.parse_envelope(plain, peer="tybalt@capulet.lit")
    with pytest.raises(sce.ForbiddenContentError):
        sce.build_envelope([etree.Element(f"{{{NS_EME}}}encryption")], from_jid="j@c",
                           time=None)


@pytest.mark.parametrize(("xml", "error"), [
    (b"<envelope xmlns='urn:xmpp:sce:1'><content/>", sce.NotAnEnvelopeError),
    (b"<other/>", sce.NotAnEnvelopeError),
    (f"<envelope xmlns='{NS_SCE}'><from jid='j@c'/></envelope>".encode(),
     sce.NotAnEnvelopeError),
    (f"<envelope xmlns='{NS_SCE}'><content/></envelope>".encode(), sce.MissingFromAffixError),
    (f"<envelope xmlns='{NS_SCE}'><content/><rpad>xx</rpad><from jid='j@c'/></envelope>"
     .encode(), sce.RpadNotAllowedError),
    (f"<envelope xmlns='{NS_SCE}'><content><store xmlns='{NS_HINTS}'/></content>"
     f"<from jid='j@c'/></envelope>".encode(), sce.ForbiddenContentError),
])
def test_sce_errors(xml: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        sce.parse_envelope(xml, peer="j@c")


def test_engine_sessions_are_per_pair() -> None:
    j, r, rng = pair("engine")
    assert r.decrypt(j, j.encrypt(r, "one")) == "one"
    with pytest.raises(NoSessionError):
        j.engine.send(r.account, 0x999, "x")
    stranger = Device.create("tybalt@capulet.lit/x", rng, FixedClock(NOW))
    with pytest.raises(NoSessionError):
        stranger.engine.receive(j.jid, j.encrypt(r, "two"))
    # a data message whose receiver tag is another instance's is not for this session
    data = j.encrypt(r, "three")
    other = Header.read(Reader(data))
    retagged = Header(other.message_type, other.sender_tag, 0x999).encode() + data[11:]
    out = r.engine.receive(j.jid, retagged)
    assert [n.kind for n in out.notices] == [NoticeKind.NOT_FOR_US] and not out.displays


def test_engine_non_interactive_and_modes() -> None:
    rng = DeterministicRng("engine-nia")
    clock = FixedClock(NOW)
    j = Device.create("juliet@capulet.lit/balcony", rng, clock)
    cell = Device.create("romeo@montague.lit/cell", rng, clock)
    secrets = cell.engine.new_prekeys(2)
    cell.engine.prekeys_published(secrets)
    ensemble = cell.engine.ensembles(secrets)[1]
    sent = j.engine.send_offline(cell.account, ensemble, "x")
    nia, data = sent.payloads
    assert peek_message_type(nia) is MessageType.NON_INTERACTIVE_AUTH
    assert cell.engine.receive(j.jid, nia).established
    assert len(cell.engine.local_prekeys.prekeys) == 1  # the one-time prekey was consumed
    assert cell.decrypt(j, data) == "x"
    identity = DeviceIdentity.generate(rng, clock, mode=Mode.INTERACTIVE_ONLY)
    strict = DeviceEngine(identity, "romeo@montague.lit", rng=rng, clock=clock)
    refused = strict.receive(j.jid, nia)
    assert [n.kind for n in refused.notices] == [NoticeKind.REFUSED]
    with pytest.raises(PrekeyPublicationRefusedError):
        strict.new_prekeys(1)
    fresh = Device.create("romeo@montague.lit/x", rng, clock)
    assert not fresh.engine.receive(j.jid, nia).established


BINDING_SCENARIOS = {"interactive-dake", "offline-start", "data-to-all-devices", "device-list",
                     "query-message", "encoded-body", "sce-envelope", "stanza-error"}


def test_binding_scenarios_run_and_check(validator: StanzaValidator) -> None:
    assert set(all_scenarios()) >= BINDING_SCENARIOS
    assert list(all_scenarios()) == list(CHAPTERS)
    examples = run_scenarios(validator, BINDING_SCENARIOS)
    valid = sorted(x.ref for x in examples if x.valid)
    assert valid == sorted([
        "interactive-dake/identity", "interactive-dake/auth-r", "interactive-dake/auth-i",
        "offline-start/non-interactive-auth", "data-to-all-devices/data-message",
        "data-to-all-devices/carbon",
        "device-list/publish", "device-list/event", "query-message/query",
        "encoded-body/encoded-identity", "sce-envelope/envelope", "sce-envelope/stanza",
        "stanza-error/no-payload-for-device"])
    assert sum(not x.valid for x in examples) == 16


def test_error_scenario_is_accepted_by_the_sender(validator: StanzaValidator) -> None:
    from otrv4_xepgen.scenarios import ScenarioContext, Step, new_story
    from otrv4_xepgen.scenarios.errors import SCENARIOS
    from otrv4_xmpp.xmltext import parse, to_text
    story = new_story()
    for name, chapter in all_scenarios().items():  # the chapters before it set the scene
        if name == "stanza-error":
            break
        chapter(ScenarioContext.for_scenario(name, story))
    (step,) = SCENARIOS["stanza-error"](ScenarioContext.for_scenario("stanza-error", story))
    assert isinstance(step, Step)
    assert isinstance(step.accept(parse(to_text(step.stanza))), e.StanzaError)
    assert validator.validate_text(to_text(step.stanza)).ok


def test_disconnected_tlv_ends_only_that_pair() -> None:
    from ._pairs import connect
    j, r, rng = pair("engine-tlv1")
    other = Device.create("romeo@montague.lit/cell", rng, FixedClock(NOW))
    connect(j, other)
    bye = r.engine.end(j.account, j.tag)
    assert bye.ended and len(bye.payloads) == 1
    got = j.engine.receive(r.jid, bye.payloads[0])
    assert got.ended and not j.engine.has_session(r.account, r.tag)
    assert j.engine.has_session(other.account, other.tag)
    assert other.decrypt(j, j.encrypt(other, "still here")) == "still here"


def test_carbons_unwrap() -> None:
    from otrv4_xmpp.carbons import (
        CarbonDirection,
        ForgedCarbonError,
        MalformedCarbonError,
        build_sent_carbon,
        unwrap,
    )
    from otrv4_xmpp.policy import Arrival
    original = compat.build_body_message("?OTRv4?", sender="j@c/b", to="r@m/o", stanza_id="q")
    carbon = build_sent_carbon(original, account="j@c", to="j@c/phone")
    got = unwrap(carbon, our_account="j@c")
    assert (got.arrival, got.direction) == (Arrival.CARBON, CarbonDirection.SENT)
    assert etree.tostring(got.stanza) == etree.tostring(original)
    assert unwrap(original, our_account="r@m").arrival is Arrival.LIVE
    with pytest.raises(ForgedCarbonError):
        unwrap(carbon, our_account="r@m")
    forwarded = carbon[0][0]
    forwarded.remove(forwarded[0])
    with pytest.raises(MalformedCarbonError):
        unwrap(carbon, our_account="j@c")
