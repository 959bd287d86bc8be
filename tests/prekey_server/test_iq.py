"""The prekey service's XMPP layer: the IQ element, its errors, discovery (no server)."""

from __future__ import annotations

import pytest
from lxml import etree

from otrv4.clock import FixedClock
from otrv4.errors import DecodeError, ValidationError
from otrv4_prekey.client import PublisherClient
from otrv4_prekey.messages import (
    EnsembleQuery,
    InvalidPrekeyServerBase64Error,
    NoPrekeyEnsembles,
    Success,
)
from otrv4_prekey.server import (
    ForeignPublisherError,
    MessageTooLargeError,
    NotInDakeError,
    PrekeyServer,
    RateLimitedError,
    ServerPolicy,
    UnexpectedMessageError,
)
from otrv4_xmpp.discovery import DiscoInfo, Identity, parse_disco_info_result
from otrv4_xmpp.prekey import (
    CONDITIONS,
    FINGERPRINT_NODE,
    NS_PREKEY,
    PREKEY_SPEC_FEATURE,
    DiscoItem,
    PrekeyCondition,
    PrekeyStanzaError,
    build_fingerprint_items,
    build_prekey_error,
    build_prekey_iq,
    build_service_disco_info,
    condition_for,
    find_fingerprint,
    handle_prekey_iq,
    is_prekey_service,
    parse_disco_items,
    parse_prekey_error,
    parse_prekey_iq,
)
from otrv4_xmpp.validation import StanzaValidator
from otrv4_xmpp.xmltext import parse, to_text

from .helpers import NOW, SERVICE, make_device, make_server, rng

JULIET_FULL = "juliet@capulet.lit/balcony"


def _server(label: str, **policy: object) -> PrekeyServer:
    return make_server(rng(label), FixedClock(NOW), policy=ServerPolicy(
        publisher_domains=frozenset({"capulet.lit"}), **policy))  # type: ignore[arg-type]


def _request(data: bytes, sender: str = JULIET_FULL, stanza_id: str = "p1") -> etree._Element:
    return parse(to_text(build_prekey_iq(sender=sender, to=SERVICE, stanza_id=stanza_id,
                                         message=data)))


def test_the_element_round_trips() -> None:
    iq = build_prekey_iq(sender=None, to=SERVICE, stanza_id="x1", message=b"\x00\x04\x10abc")
    text = to_text(iq)
    assert text == (f"<iq id='x1' to='{SERVICE}' type='set'>\n"
                    f"  <prekey xmlns='{NS_PREKEY}'>AAQQYWJj</prekey>\n</iq>")
    parsed = parse_prekey_iq(parse(text))
    assert (parsed.iq_type, parsed.stanza_id, parsed.sender, parsed.to, parsed.message) == (
        "set", "x1", None, SERVICE, b"\x00\x04\x10abc")


def test_bad_iqs_are_refused() -> None:
    good = build_prekey_iq(sender=None, to=SERVICE, stanza_id="x", message=b"\x00\x04\x10abc")
    text = to_text(good)
    with pytest.raises(PrekeyStanzaError):
        parse_prekey_iq(parse(text.replace("type='set'", "type='get'")))
    with pytest.raises(PrekeyStanzaError):
        parse_prekey_iq(parse(text.replace("id='x' ", "")))
    with pytest.raises(PrekeyStanzaError):
        two = f"<prekey xmlns='{NS_PREKEY}'>AAAA</prekey></iq>"
        parse_prekey_iq(parse(text.replace("</iq>", two)))
    with pytest.raises(PrekeyStanzaError):
        parse_prekey_iq(parse("<message to='a'/>"))
    with pytest.raises(InvalidPrekeyServerBase64Error):
        parse_prekey_iq(parse(text.replace("AAQQYWJj", "AAQQ YWJj")))
    with pytest.raises(InvalidPrekeyServerBase64Error):
        parse_prekey_iq(parse(text.replace("AAQQYWJj", "AAQQYWJj.")))  # the text form's '.'


def test_examples_validate(own_validator: StanzaValidator) -> None:
    iq = build_prekey_iq(sender="juliet@capulet.lit/balcony", to=SERVICE, stanza_id="a",
                         message=EnsembleQuery(0x100, "romeo@montague.lit").encode())
    assert own_validator.validate_text(to_text(iq)).ok
    bad = to_text(iq).replace(">AAQ", "> AAQ")
    assert not own_validator.validate_text(bad).ok
    short = to_text(build_prekey_iq(sender=None, to=SERVICE, stanza_id="b", message=b"\x00\x04"))
    assert not own_validator.validate_text(short).ok  # shorter than any prekey-server message
    for condition in PrekeyCondition:
        err = build_prekey_error(sender=SERVICE, to=JULIET_FULL, stanza_id="e",
                                 condition=condition, text="why")
        report = own_validator.validate_text(to_text(err))
        assert report.ok, report.violations


def test_full_validator_accepts_requests_and_errors(validator: StanzaValidator) -> None:
    """With the XSF stanza schemas (and the validator's RFC 6120 fix for application-specific
    conditions in <error/>) requests, results and every error validate in both engines."""
    iq = build_prekey_iq(sender="juliet@capulet.lit/balcony", to=SERVICE, stanza_id="a",
                         message=EnsembleQuery(0x100, "romeo@montague.lit").encode())
    result = build_prekey_iq(sender=SERVICE, to=JULIET_FULL, stanza_id="a", iq_type="result",
                             message=NoPrekeyEnsembles(0x100, "romeo@montague.lit").encode())
    stanzas = [iq, result] + [
        build_prekey_error(sender=SERVICE, to=JULIET_FULL, stanza_id="e", condition=c,
                           text="why") for c in PrekeyCondition]
    for stanza in stanzas:
        for engine in ("lxml", "xmlschema"):
            report = validator.validate_text(to_text(stanza), "built", engine)
            assert report.ok, report.violations
    # an unknown element of our namespace in <error/> is refused by our schema
    bad = build_prekey_error(sender=SERVICE, to=JULIET_FULL, stanza_id="e",
                             condition=PrekeyCondition.RATE_LIMITED)
    error = bad.find("{jabber:client}error")
    assert error is not None
    error[-1].tag = f"{{{NS_PREKEY}}}prekeys-exhausted"
    assert not validator.validate_text(to_text(bad)).ok


def test_errors_round_trip() -> None:
    for condition, (stanza_condition, error_type, _) in CONDITIONS.items():
        err = build_prekey_error(sender=SERVICE, to=JULIET_FULL, stanza_id="e",
                                 condition=condition, text="because")
        assert err.find("{jabber:client}error").get("type") == error_type  # type: ignore[union-attr]
        parsed = parse_prekey_error(parse(to_text(err)))
        assert parsed.condition is condition
        assert parsed.stanza_condition == stanza_condition
        assert parsed.text == "because"
    with pytest.raises(PrekeyStanzaError):
        parse_prekey_error(build_prekey_iq(sender=SERVICE, to="a", stanza_id="r",
                                           message=b"\x00" * 20, iq_type="result"))


@pytest.mark.parametrize(("exc", "condition"), [
    (MessageTooLargeError(), PrekeyCondition.MESSAGE_TOO_LARGE),
    (UnexpectedMessageError(), PrekeyCondition.UNEXPECTED_MESSAGE),
    (NotInDakeError(), PrekeyCondition.NOT_IN_DAKE),
    (ForeignPublisherError(), PrekeyCondition.NOT_A_PUBLISHER),
    (RateLimitedError(), PrekeyCondition.RATE_LIMITED),
    (DecodeError(), PrekeyCondition.MALFORMED_MESSAGE),
    (ValidationError(), PrekeyCondition.DAKE_FAILED),
])
def test_condition_mapping(exc: Exception, condition: PrekeyCondition) -> None:
    assert condition_for(exc) is condition


def test_publication_and_retrieval_through_iqs(own_validator: StanzaValidator) -> None:
    server = _server("iq-flow")
    r = rng("iq-flow-client")
    juliet = make_device(r, "juliet@capulet.lit")
    client = PublisherClient(juliet.identity, SERVICE, r, server.identity.fingerprint)

    def send(data: bytes, sender: str = JULIET_FULL) -> bytes:
        answer = handle_prekey_iq(server, _request(data, sender), sender.split("/")[0])
        text = to_text(answer)
        assert own_validator.validate_text(text).ok
        parsed = parse_prekey_iq(parse(text))
        assert parsed.iq_type == "result" and parsed.to == sender and parsed.sender == SERVICE
        return parsed.message

    dake2 = send(client.start())
    reply = send(client.publish(dake2, juliet.prekeys(r, 1),
                                client_profile=juliet.identity.client_profile,
                                prekey_profile=juliet.shared))
    assert isinstance(client.finish(reply), Success)
    romeo = "romeo@montague.lit/orchard"
    first = send(EnsembleQuery(0x0A0B, "juliet@capulet.lit").encode(), romeo)
    assert first[2] == 0x13
    second = send(EnsembleQuery(0x0A0B, "juliet@capulet.lit").encode(), romeo)
    assert NoPrekeyEnsembles.decode(second).identity == "juliet@capulet.lit"


def test_failures_become_iq_errors() -> None:
    server = _server("iq-errors", retrievals_per_minute=1)
    r = rng("iq-errors-client")
    juliet = make_device(r, "juliet@capulet.lit")
    client = PublisherClient(juliet.identity, SERVICE, r)

    def error_of(iq: etree._Element, sender: str = "juliet@capulet.lit") -> PrekeyCondition | None:
        answer = handle_prekey_iq(server, iq, sender)
        assert answer.get("type") == "error" and answer.get("id") == iq.get("id")
        return parse_prekey_error(answer).condition

    garbage = parse(to_text(_request(b"\x00\x04\x10abc")).replace("AAQQYWJj", "!!!!"))
    assert error_of(garbage) is PrekeyCondition.MALFORMED_MESSAGE
    assert error_of(_request(b"\x00\x04\x10abc")) is PrekeyCondition.MALFORMED_MESSAGE
    assert error_of(_request(Success(0x100, b"\x00" * 64).encode())) is \
        PrekeyCondition.UNEXPECTED_MESSAGE
    mallory = make_device(r, "mallory@evil.lit")
    assert error_of(_request(PublisherClient(mallory.identity, SERVICE, r).start()),
                    "mallory@evil.lit") is PrekeyCondition.NOT_A_PUBLISHER
    dake2 = handle_prekey_iq(server, _request(client.start()), "juliet@capulet.lit")
    dake3 = client.request_status(parse_prekey_iq(dake2).message)
    assert handle_prekey_iq(server, _request(dake3), "juliet@capulet.lit").get("type") == "result"
    assert error_of(_request(dake3)) is PrekeyCondition.NOT_IN_DAKE  # replayed
    expired = make_device(r, "juliet@capulet.lit", expiration=NOW - 10)
    assert error_of(_request(PublisherClient(expired.identity, SERVICE, r).start())) is \
        PrekeyCondition.DAKE_FAILED
    q = EnsembleQuery(0x100, "juliet@capulet.lit").encode()
    assert handle_prekey_iq(server, _request(q), "romeo@montague.lit").get("type") == "result"
    assert error_of(_request(q), "romeo@montague.lit") is PrekeyCondition.RATE_LIMITED
    small = make_server(r, FixedClock(NOW), policy=ServerPolicy(max_message_bytes=10))
    big = handle_prekey_iq(small, _request(q), "romeo@montague.lit")
    assert parse_prekey_error(big).condition is PrekeyCondition.MESSAGE_TOO_LARGE
    # a result sent to the service is not a request
    result = build_prekey_iq(sender=JULIET_FULL, to=SERVICE, stanza_id="r", message=q,
                             iq_type="result")
    assert error_of(result) is PrekeyCondition.MALFORMED_MESSAGE


def test_service_discovery() -> None:
    info_iq = build_service_disco_info(sender=SERVICE, to=JULIET_FULL, stanza_id="i1")
    info = parse_disco_info_result(info_iq)
    assert Identity("auth", "otr-prekey", "OTR Prekey Server") in info.identities
    assert {NS_PREKEY, PREKEY_SPEC_FEATURE} <= set(info.features)
    assert is_prekey_service(info)
    assert is_prekey_service(DiscoInfo((Identity("auth", "otr-prekey"),), (PREKEY_SPEC_FEATURE,)))
    assert not is_prekey_service(DiscoInfo((Identity("auth", "otr-prekey"),), ()))
    assert not is_prekey_service(DiscoInfo((Identity("pubsub", "service"),), (NS_PREKEY,)))
    fp = bytes(range(56))
    items_iq = build_fingerprint_items(sender=SERVICE, to=JULIET_FULL, stanza_id="i2",
                                       fingerprint=fp)
    items = parse_disco_items(parse(to_text(items_iq)))
    assert items == [DiscoItem(SERVICE, FINGERPRINT_NODE, fp.hex().upper())]
    assert find_fingerprint(items, SERVICE) == fp
    with pytest.raises(PrekeyStanzaError):
        find_fingerprint(items, "other.capulet.lit")
    with pytest.raises(PrekeyStanzaError):
        find_fingerprint([DiscoItem(SERVICE, FINGERPRINT_NODE, "AB" * 55)], SERVICE)
    with pytest.raises(PrekeyStanzaError):
        find_fingerprint([DiscoItem(SERVICE, FINGERPRINT_NODE, "ZZ" * 56)], SERVICE)
    with pytest.raises(PrekeyStanzaError):
        parse_disco_items(info_iq)
