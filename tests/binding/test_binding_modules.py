"""Stanza errors, ?OTR: bodies, the SCE profile, the endpoint, and the binding's scenarios."""

from __future__ import annotations

import pytest
from lxml import etree

from otrv4.clock import FixedClock
from otrv4.encoding import MessageType, peek_message_type
from otrv4.modes import Mode, NonInteractiveDakeRefusedError
from otrv4.primitives.rng import DeterministicRng
from otrv4.ratchet import InstanceTagMismatch
from otrv4_xmpp import compat, sce
from otrv4_xmpp import errors as e
from otrv4_xmpp.carriage import AddressingError, Delivery, OtrPayload
from otrv4_xmpp.endpoint import Endpoint, NoSessionError
from otrv4_xmpp.namespaces import NS_CLIENT, NS_EME, NS_HINTS, NS_OTR4, NS_SCE, NS_STANZAS
from otrv4_xmpp.validation import StanzaValidator
from xepgen.examples import run_scenarios
from xepgen.scenarios import all_scenarios

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
    assert sce.is_envelope(plain) and not sce.is_envelope(b"hello")
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


def test_endpoint_sessions_are_per_pair() -> None:
    j, r, rng = pair("endpoint")
    data = j.encrypt(r.tag, "one", rng)
    assert r.decrypt(OtrPayload(r.tag, data)).text == "one"
    with pytest.raises(NoSessionError):
        j.encrypt(0x999, "x", rng)
    stranger = Endpoint.create("tybalt@capulet.lit/x", rng, FixedClock(NOW))
    with pytest.raises(NoSessionError):
        stranger.decrypt(OtrPayload(stranger.tag, data))
    with pytest.raises(InstanceTagMismatch):  # another instance's payload
        r.decrypt(OtrPayload(r.tag, j.encrypt(r.tag, "two", rng)[:7] + (0x999).to_bytes(4, "big")
                             + j.encrypt(r.tag, "three", rng)[11:]))


def test_endpoint_non_interactive_and_modes() -> None:
    rng = DeterministicRng("endpoint-nia")
    clock = FixedClock(NOW)
    j = Endpoint.create("juliet@capulet.lit/balcony", rng, clock)
    cell = Endpoint.create("romeo@montague.lit/cell", rng, clock)
    ensemble = cell.make_prekeys(rng, 2)[1]
    nia = j.send_non_interactive(cell.account, ensemble, rng)
    assert peek_message_type(nia) is MessageType.NON_INTERACTIVE_AUTH
    assert cell.receive(j.account, j.tag, OtrPayload(cell.tag, nia), rng) is None
    assert cell.local_prekeys is not None and len(cell.local_prekeys.prekeys) == 1
    got = cell.receive(j.account, j.tag, OtrPayload(cell.tag, j.encrypt(cell.tag, "x", rng)),
                       rng)
    assert getattr(got, "text", None) == "x"
    strict = Endpoint.create("romeo@montague.lit/desk", rng, clock, mode=Mode.INTERACTIVE_ONLY)
    with pytest.raises(NonInteractiveDakeRefusedError):
        strict.receive_non_interactive(j.account, nia)
    with pytest.raises(NoSessionError):
        Endpoint.create("romeo@montague.lit/x", rng, clock).receive_non_interactive(
            j.account, nia)


BINDING_SCENARIOS = {"interactive-dake", "offline-start", "data-to-all-devices", "device-list",
                     "query-message", "encoded-body", "sce-envelope", "stanza-error"}


def test_binding_scenarios_run_and_check(validator: StanzaValidator) -> None:
    assert set(all_scenarios()) >= BINDING_SCENARIOS
    examples = run_scenarios(validator, BINDING_SCENARIOS)
    valid = sorted(x.ref for x in examples if x.valid)
    assert valid == sorted([
        "interactive-dake/identity", "interactive-dake/auth-r", "interactive-dake/auth-i",
        "offline-start/non-interactive-auth", "data-to-all-devices/data-message",
        "data-to-all-devices/carbon",
        "device-list/publish", "device-list/event", "query-message/query",
        "encoded-body/encoded-identity", "sce-envelope/envelope",
        "stanza-error/no-payload-for-device"])
    assert sum(not x.valid for x in examples) == 16


def test_error_scenario_is_accepted_by_the_sender(validator: StanzaValidator) -> None:
    from otrv4_xmpp.xmltext import parse, to_text
    from xepgen.scenarios import ScenarioContext, Step
    from xepgen.scenarios.errors import SCENARIOS
    (step,) = SCENARIOS["stanza-error"](ScenarioContext.for_scenario("stanza-error"))
    assert isinstance(step, Step)
    assert isinstance(step.accept(parse(to_text(step.stanza))), e.StanzaError)
    assert validator.validate_text(to_text(step.stanza)).ok


def test_disconnected_tlv_ends_only_that_pair() -> None:
    from otrv4.tlv import disconnected

    from ._pairs import connect
    j, r, rng = pair("endpoint-tlv1")
    other = Endpoint.create("romeo@montague.lit/cell", rng, FixedClock(NOW))
    connect(j, other, rng)
    bye = r.encrypt(j.tag, "", rng, tlvs=[disconnected()])
    r.end_session(j.tag)
    assert j.decrypt(OtrPayload(j.tag, bye)).text == ""
    assert r.tag not in j.sessions and other.tag in j.sessions
    assert other.decrypt(OtrPayload(other.tag, j.encrypt(other.tag, "still here", rng))).text \
        == "still here"


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
