"""Corrections to third-party schemas: the carbons and forwarding schemas load, and the
RFC 6120 patch of jabber-client.xsd admits this binding's error conditions."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from otrv4_xepgen.paths import XsfFiles
from otrv4_xmpp.errors import Condition, build_error
from otrv4_xmpp.validation import StanzaValidator, default_schema_dir
from otrv4_xmpp.xep_schema_fixes import (
    ErrorModelNotFoundError,
    app_condition,
    rfc6120_jabber_client,
)
from otrv4_xmpp.xmltext import to_text


class _Local(etree.Resolver):
    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base

    def resolve(self, system_url: str | None, public_id: str | None,  # type: ignore[override]
                context: object) -> object:
        url = system_url or ""
        for prefix in ("https://xmpp.org/schemas/", "https://www.w3.org/2001/03/"):
            if url.startswith(prefix):
                return self.resolve_filename(  # type: ignore[attr-defined]
                    str(self.base / url[len(prefix):]), context)
        return None


def _schema(client: Path, xsf: Path) -> etree.XMLSchema:
    driver = ("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"
              f"<xs:import namespace='jabber:client' schemaLocation='{client.as_uri()}'/>"
              "<xs:import namespace='urn:xmpp:otr4:0' "
              f"schemaLocation='{(default_schema_dir() / 'otr4.xsd').as_uri()}'/>"
              "</xs:schema>")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Local(xsf))
    return etree.XMLSchema(etree.fromstring(driver.encode(), parser,
                                            base_url=(client.parent / "driver.xsd").as_uri()))


def _error(condition: Condition = Condition.MODE_NOT_SUPPORTED) -> etree._Element:
    return etree.fromstring(to_text(build_error(
        condition, reporter_tag=0x200, sender="r@m/t", to="j@c/b", stanza_id="m")).replace(
        "<message ", "<message xmlns='jabber:client' ", 1))


def test_patch_admits_our_conditions_only(xsf: XsfFiles, tmp_path: Path) -> None:
    assert xsf.schemas is not None
    original = _schema(xsf.schemas / "jabber-client.xsd", xsf.schemas)
    assert not original.validate(_error())  # the XSF's file: the gap
    patched_file = rfc6120_jabber_client(xsf.schemas, tmp_path)
    assert rfc6120_jabber_client(xsf.schemas, tmp_path) == patched_file  # written once
    patched = _schema(patched_file, xsf.schemas)
    for condition in Condition:
        assert patched.validate(_error(condition)), patched.error_log
    bad = _error()
    bad[0][1].attrib.pop("tag")
    assert not patched.validate(bad)
    unknown = _error()
    unknown[0][1].tag = "{urn:xmpp:otr4:0}no-such-condition"
    assert not patched.validate(unknown)


def test_patch_notices_a_changed_upstream_file(tmp_path: Path) -> None:
    (tmp_path / "jabber-client.xsd").write_text("<xs:schema/>", encoding="utf-8")
    with pytest.raises(ErrorModelNotFoundError):
        rfc6120_jabber_client(tmp_path, tmp_path / "out")


def test_app_condition_lists_namespaces() -> None:
    assert "namespace='a b'" in app_condition(["b", "a", "a"])


def test_carbons_and_forward_fixes_load(validator: StanzaValidator) -> None:
    text = ("<message from='j@c' to='j@c/p' type='chat'><sent xmlns='urn:xmpp:carbons:2'>"
            "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='r@m'>"
            "<body>x</body><private xmlns='urn:xmpp:carbons:2'/></message></forwarded></sent>"
            "</message>")
    assert validator.validate_text(text).ok
    assert not validator.validate_text(text.replace("<body>x</body>", "<bogus/>")).ok
