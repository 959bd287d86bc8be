"""The registry of decisions (otrv4.decisions): every departure from the specifications that
the code makes has one numbered record, pinned by a committed vector file."""

from __future__ import annotations

import re

from otrv4.decisions import all_decisions

from ..helpers.vectors import vector_stems

DECISIONS = {d.number: d for d in all_decisions(("otrv4", "otrv4_prekey"))}


def test_numbering_has_no_gaps() -> None:
    otrv4 = sorted(n for n in DECISIONS if n < 100)
    prekey = sorted(n for n in DECISIONS if n > 100)
    assert otrv4 == list(range(1, len(otrv4) + 1))
    assert prekey == list(range(101, 101 + len(prekey)))


def test_every_decision_names_a_committed_vector_file() -> None:
    stems = set(vector_stems())
    assert {n: d.vector for n, d in DECISIONS.items() if d.vector not in stems} == {}


def test_the_departures_of_issue_16_are_recorded_with_their_vectors() -> None:
    expected = {
        13: "fingerprint", 14: "ecdh-ed448", 15: "kdf", 16: "ratchet", 17: "smp", 18: "smp",
        19: "dh3072", 20: "ratchet", 21: "ratchet", 105: "prekey-server-ecdh",
        106: "prekey-server-dake",
    }
    assert {n: DECISIONS[n].vector for n in expected} == expected


def test_the_go_prekey_server_facts_are_stated_once_each() -> None:
    text = DECISIONS[106].decision
    for fact in ("W1", "R1", "R2", "E1", "P1", "L1"):
        assert text.count(f"({fact})") == 1, fact
    assert "336 bytes, not 342" in text and "(i * S) / 4" in text and "v / 4" in text


def test_texts_cite_no_file_of_this_repository() -> None:
    """The records are rendered for other implementers: no project notes or vector paths."""
    internal = re.compile(r"otrv4-brief|examples/|\.json\b|spec_impl|tests/")
    for d in DECISIONS.values():
        for field in (d.title, d.question, d.decision, d.reason, d.others):
            assert not internal.search(field), (d.number, field)
