"""The server's answer to a query re-reads what it stored: the same bytes come out, profiles
are decoded once, and a stored value that no longer decodes is skipped (and consumed)."""

from __future__ import annotations

import pytest

from otrv4.clock import FixedClock
from otrv4.encoding import TruncatedError, UnknownMessageTypeError
from otrv4.messages import PrekeyMessage
from otrv4_prekey.messages import EnsembleQuery, EnsembleRetrieval, NoPrekeyEnsembles
from otrv4_prekey.retrieval import ProfileCache, answer_query, read_stored_prekey_message
from otrv4_prekey.storage import InMemoryStorage, StoredProfile

from .helpers import NOW, make_device, rng


def test_a_stored_prekey_message_reads_back_to_the_same_message() -> None:
    r = rng("answer:stored")
    device = make_device(r, "juliet@capulet.lit")
    for p in device.prekeys(r, 5):
        data = p.message.encode()
        again = read_stored_prekey_message(data)
        assert again == PrekeyMessage.decode(data)
        assert again.encode() == data


def test_a_broken_stored_prekey_message_gets_the_full_decoders_error() -> None:
    data = make_device(rng("answer:broken"), "j@c").prekeys(rng("answer:pm"), 1)[0]
    encoded = data.message.encode()
    with pytest.raises(TruncatedError):
        read_stored_prekey_message(encoded[:-3])
    with pytest.raises(UnknownMessageTypeError):
        read_stored_prekey_message(encoded[:2] + b"\xee" + encoded[3:])


def test_the_answer_skips_what_no_longer_decodes_and_caches_profiles() -> None:
    r = rng("answer:skip")
    clock = FixedClock(NOW)
    storage = InMemoryStorage()
    good = make_device(r, "juliet@capulet.lit")
    bad = make_device(r, "juliet@capulet.lit")
    for device, pm in ((good, good.prekeys(r, 1)[0].message.encode()), (bad, b"\x00\x04\x0f")):
        cp, pp = device.identity.client_profile, device.shared.profile
        storage.publish("juliet@capulet.lit", device.tag,
                        client_profile=StoredProfile(cp.encode(), cp.expiration),
                        prekey_profile=StoredProfile(pp.encode(), pp.expiration),
                        prekey_messages=[(1, pm)])
    cache = ProfileCache(4)
    answer = answer_query(EnsembleQuery(0x0A0B, "juliet@capulet.lit"), storage, clock, cache)
    assert isinstance(answer, EnsembleRetrieval)
    assert [e.prekey_message.owner_tag for e in answer.ensembles] == [good.tag]
    assert cache.client_profile(good.identity.client_profile.encode()) is \
        answer.ensembles[0].client_profile  # decoded once, kept
    assert storage.count("juliet@capulet.lit", bad.tag) == 0  # consumed all the same
    assert isinstance(answer_query(EnsembleQuery(0x0A0B, "juliet@capulet.lit"), storage, clock),
                      NoPrekeyEnsembles)
