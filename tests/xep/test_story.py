"""The XEP's examples tell one consistent story.

Every example of the rendered XEP is parsed and every OTRv4 and prekey-server
message in it decoded with the protocol code.  The test fails when one full JID
appears with two instance tags, one instance tag with two full JIDs or two
accounts, one stanza id in two unrelated exchanges, or one device with two
Client Profiles, Prekey Profiles or long-term keys.  It reads the committed,
rendered document, so it checks what a reader sees.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from otrv4.encoding import Header, Reader
from otrv4.messages import decode_dake_message
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4_prekey.messages import Dake3, decode_message
from otrv4_xmpp.carriage import parse_message
from otrv4_xmpp.compat import parse_body_message
from otrv4_xmpp.devices import parse_event, parse_publish
from otrv4_xmpp.namespaces import NS_OTR4
from otrv4_xmpp.prekey import NS_PREKEY, parse_prekey_iq

ROOT = Path(__file__).resolve().parents[2]
XEP = ROOT / "xep" / "otrv4-over-xmpp.xml"
NS_FORWARD = "urn:xmpp:forward:0"
NS_CLIENT = "jabber:client"


def examples(path: Path = XEP) -> list[etree._Element]:
    """Every example stanza of the rendered XEP, parsed (with the client namespace)."""
    text = path.read_text(encoding="utf-8")
    out = []
    for body in re.findall(r"<example caption='[^']*'><!\[CDATA\[(.*?)\]\]></example>", text,
                           flags=re.S):
        wrapped = f"<stream xmlns='{NS_CLIENT}'>{body}</stream>"
        out.extend(etree.fromstring(wrapped.encode("utf-8")))
    return out


def walk(value: object) -> Iterator[object]:
    """``value`` and every value inside it (dataclass fields, tuples, lists, dicts)."""
    yield value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from walk(getattr(value, f.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from walk(item)


class Ledger:
    """What the examples say about each device, and every contradiction found."""

    def __init__(self) -> None:
        self.tags_of_jid: dict[str, set[int]] = defaultdict(set)
        self.jids_of_tag: dict[int, set[str]] = defaultdict(set)
        self.accounts_of_tag: dict[int, set[str]] = defaultdict(set)
        self.client_profiles: dict[int, set[bytes]] = defaultdict(set)
        self.prekey_profiles: dict[int, set[bytes]] = defaultdict(set)
        self.keys: dict[int, set[bytes]] = defaultdict(set)
        self.request_ids: dict[str, list[str]] = defaultdict(list)
        self.requests: dict[str, tuple[str, str]] = {}
        self.answers: dict[str, set[tuple[str, str]]] = defaultdict(set)

    def device(self, full_jid: str, tag: int) -> None:
        if "/" in full_jid:
            self.tags_of_jid[full_jid].add(tag)
            self.jids_of_tag[tag].add(full_jid)
        self.account(full_jid, tag)

    def account(self, jid: str, tag: int) -> None:
        self.accounts_of_tag[tag].add(jid.partition("/")[0])

    def decoded(self, value: object, owner_jid: str | None) -> None:
        for item in walk(value):
            if isinstance(item, ClientProfile):
                self.client_profiles[item.owner_tag].add(item.encode())
                self.keys[item.owner_tag].add(item.public_key.encode())
                if owner_jid is not None:
                    self.account(owner_jid, item.owner_tag)
            elif isinstance(item, PrekeyProfile):
                self.prekey_profiles[item.owner_tag].add(item.encode())

    def problems(self) -> list[str]:
        out = [f"{jid} has instance tags {sorted(map(hex, tags))}"
               for jid, tags in self.tags_of_jid.items() if len(tags) > 1]
        out += [f"instance tag {tag:08x} is at {sorted(jids)}"
                for tag, jids in self.jids_of_tag.items() if len(jids) > 1]
        out += [f"instance tag {tag:08x} belongs to {sorted(accts)}"
                for tag, accts in self.accounts_of_tag.items() if len(accts) > 1]
        for what, table in (("Client Profiles", self.client_profiles),
                            ("Prekey Profiles", self.prekey_profiles),
                            ("long-term keys", self.keys)):
            out += [f"instance tag {tag:08x} has {len(v)} {what}"
                    for tag, v in table.items() if len(v) > 1]
        out += [f"stanza id {sid!r} starts {len(kinds)} exchanges: {kinds}"
                for sid, kinds in self.request_ids.items() if len(kinds) > 1]
        for sid, pairs in self.answers.items():
            request = self.requests.get(sid)
            if len(pairs) > 1:
                out.append(f"answers with id {sid!r} go between {sorted(pairs)}")
            elif request is not None and not _answers(next(iter(pairs)), request):
                out.append(f"the answer with id {sid!r} ({sorted(pairs)}) is not between the "
                           f"parties of the request {request}")
        return out


def _answers(answer: tuple[str, str], request: tuple[str, str]) -> bool:
    """Whether ``answer`` (from, to) goes back to the sender of ``request`` (from, to), from
    its addressee (or, for a request to a bare JID, from one of that account's devices)."""
    (a_from, a_to), (r_from, r_to) = answer, request
    return a_to == r_from and (a_from == r_to or a_from.partition("/")[0] == r_to)


def _otr_messages(stanza: etree._Element) -> Iterator[etree._Element]:
    """``stanza`` and every message forwarded inside it that carries ``<otr/>``."""
    for msg in stanza.iter(f"{{{NS_CLIENT}}}message"):
        if msg.find(f"{{{NS_OTR4}}}otr") is not None:
            yield msg


def read(stanza: etree._Element, ledger: Ledger) -> None:
    """Enter what ``stanza`` says into ``ledger``."""
    kind = etree.QName(stanza).localname
    kind_type = stanza.get("type", "normal")
    sid = stanza.get("id")
    sender = stanza.get("from", "")
    if sid is not None:
        if (kind == "iq" and kind_type in ("result", "error")) or kind_type == "error":
            ledger.answers[sid].add((sender, stanza.get("to", "")))
        elif stanza.find(f".//{{{NS_FORWARD}}}forwarded") is not None:
            inner = stanza.find(f".//{{{NS_CLIENT}}}message")
            if inner is None or inner.get("id") is None:
                ledger.request_ids[sid].append("carbon without a message")
        else:
            ledger.request_ids[sid].append(f"{kind} {kind_type} from {sender}")
            ledger.requests[sid] = (sender, stanza.get("to", ""))
    for msg in _otr_messages(stanza):
        frm = msg.get("from", "")
        received = parse_message(msg)
        ledger.device(frm, received.otr.sender)
        for payload in received.otr.payloads:
            header = Header.read(Reader(payload.data))
            assert header.sender_tag == received.otr.sender
            if payload.receiver:
                assert header.receiver_tag == payload.receiver
            if payload.message_type.name != "DATA":
                ledger.decoded(decode_dake_message(payload.data), frm)
    error = stanza.find(f"{{{NS_CLIENT}}}error")
    if error is not None:
        for condition in error:
            if etree.QName(condition).namespace == NS_OTR4 and condition.get("tag"):
                ledger.device(sender, int(condition.get("tag", "0"), 16))
    body = stanza.find(f"{{{NS_CLIENT}}}body")
    if kind == "message" and body is not None and (body.text or "").startswith("?OTR:"):
        found = parse_body_message(stanza)
        if found.message is not None:
            ledger.device(sender, Header.read(Reader(found.message)).sender_tag)
            ledger.decoded(decode_dake_message(found.message), sender)
    if kind == "iq" and stanza.find(f"{{{NS_PREKEY}}}*") is not None and kind_type != "error":
        message = decode_message(parse_prekey_iq(stanza).message)
        requester = sender if kind_type == "set" else None
        ledger.decoded(message, requester)
        if isinstance(message, Dake3):
            ledger.decoded(message.decode_inner(), requester)
        tag = getattr(message, "sender_tag", None)
        if requester is not None and isinstance(tag, int):
            ledger.device(requester, tag)
    for parse in (parse_publish, parse_event):
        try:
            parsed = parse(stanza)
        except Exception:  # not a stanza of that kind
            continue
        owner, device_list = parsed if isinstance(parsed, tuple) else (sender, parsed)
        for entry in device_list.entries:
            ledger.account(owner, entry.tag)


def ledger_of(stanzas: list[etree._Element]) -> Ledger:
    ledger = Ledger()
    for stanza in stanzas:
        read(stanza, ledger)
    return ledger


def test_the_document_has_examples_from_the_whole_cast() -> None:
    ledger = ledger_of(examples())
    assert {j.partition("/")[2] for j in ledger.tags_of_jid} >= {
        "balcony", "chamber", "orchard", "tablet", "desktop"}
    assert len(ledger.client_profiles) >= 4


def test_every_device_has_one_tag_one_jid_one_profile_and_ids_are_unique() -> None:
    assert ledger_of(examples()).problems() == []


@pytest.mark.parametrize("mutation", ["tag", "id", "profile"])
def test_the_check_finds_a_contradiction(mutation: str) -> None:
    """The check is not vacuous: one planted contradiction of each kind is reported."""
    stanzas = examples()
    if mutation == "tag":
        otr = next(s for s in stanzas if s.find(f"{{{NS_OTR4}}}otr") is not None)
        clone = etree.fromstring(etree.tostring(otr))
        clone.find(f"{{{NS_OTR4}}}otr").set("sender", "0000abcd")  # type: ignore[union-attr]
        for p in clone.iter(f"{{{NS_OTR4}}}payload"):
            p.getparent().remove(p)  # type: ignore[union-attr]
        ledger = Ledger()
        ledger.device(clone.get("from", ""), 0xABCD)
        for stanza in stanzas:
            read(stanza, ledger)
        assert any("has instance tags" in p for p in ledger.problems())
    elif mutation == "id":
        first = next(s for s in stanzas if s.get("type") == "chat")
        again = etree.fromstring(etree.tostring(first))
        again.set("from", "nurse@capulet.lit/kitchen")
        assert any("starts 2 exchanges" in p for p in ledger_of([*stanzas, again]).problems())
    else:
        ledger = ledger_of(stanzas)
        tag = next(iter(ledger.client_profiles))
        ledger.client_profiles[tag].add(b"another profile")
        assert any("Client Profiles" in p for p in ledger.problems())
