"""Data the XEP's prekey-service sections render, from the code's own constants.

* ``prekey_messages``: every prekey-server message (type, base64 prefix, who
  sends it, its fields) from :mod:`otrv4_prekey.messages`;
* ``prekey_conditions``: the IQ error conditions from
  :data:`otrv4_xmpp.prekey.CONDITIONS`;
* ``prekey_policy``: the service's and the clients' numbers (replenishing,
  limits) from :mod:`otrv4_prekey.client`, :mod:`otrv4_prekey.server` and
  :mod:`otrv4_prekey.storage`;
* ``prekey_sizes``: the sizes of a publication of the largest batch a client
  sends and of a one-device retrieval answer, computed with real messages;
* ``prekey_disco_items``: whether the disco#items examples exist (they need a
  disco#items schema in the validator).
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from otrv4.instance_tag import generate_instance_tag
from otrv4.keys import ForgingKey
from otrv4.prekeys import PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4_prekey.client import LOW_WATER_MARK, MAX_PREKEYS_PER_PUBLICATION, REFILL_TARGET
from otrv4_prekey.messages import (
    MESSAGE_CLASSES,
    EnsembleRetrieval,
    PrekeyServerMessageType,
)
from otrv4_prekey.publication import SharedPrekey, build_publication
from otrv4_prekey.server import DEFAULT_POLICY
from otrv4_xmpp.prekey import CONDITIONS, NS_PREKEY, build_prekey_iq
from otrv4_xmpp.xmltext import to_text

from .scenarios import EXAMPLE_TIME
from .scenarios.prekey import DISCO_ITEMS_EXAMPLES

__all__ = ["TEMPLATE_DATA", "prekey_sizes"]

_SENDER = {
    PrekeyServerMessageType.DAKE_1: "publisher",
    PrekeyServerMessageType.DAKE_2: "service",
    PrekeyServerMessageType.DAKE_3: "publisher",
    PrekeyServerMessageType.PREKEY_PUBLICATION: "publisher (inside DAKE-3)",
    PrekeyServerMessageType.STORAGE_INFORMATION_REQUEST: "publisher (inside DAKE-3)",
    PrekeyServerMessageType.STORAGE_STATUS: "service",
    PrekeyServerMessageType.SUCCESS: "service",
    PrekeyServerMessageType.FAILURE: "service",
    PrekeyServerMessageType.ENSEMBLE_QUERY: "retriever",
    PrekeyServerMessageType.ENSEMBLE_RETRIEVAL: "service",
    PrekeyServerMessageType.NO_PREKEY_ENSEMBLES: "service",
}


#: The order of the message table: the publication DAKE, its contents and answers, retrieval.
_ORDER = (
    PrekeyServerMessageType.DAKE_1, PrekeyServerMessageType.DAKE_2,
    PrekeyServerMessageType.DAKE_3, PrekeyServerMessageType.PREKEY_PUBLICATION,
    PrekeyServerMessageType.STORAGE_INFORMATION_REQUEST, PrekeyServerMessageType.SUCCESS,
    PrekeyServerMessageType.FAILURE, PrekeyServerMessageType.STORAGE_STATUS,
    PrekeyServerMessageType.ENSEMBLE_QUERY, PrekeyServerMessageType.ENSEMBLE_RETRIEVAL,
    PrekeyServerMessageType.NO_PREKEY_ENSEMBLES,
)


@functools.cache
def prekey_sizes() -> dict[str, int]:
    """Bytes on the wire of a publication of :data:`MAX_PREKEYS_PER_PUBLICATION` Prekey
    messages with both profiles (binary, base64, whole IQ) and of a retrieval answer with
    one ensemble."""
    rng = DeterministicRng("xep:prekey-sizes")
    keypair = EdDSAKeyPair.generate(rng)
    tag = generate_instance_tag(rng)
    expires = EXAMPLE_TIME + 7 * 24 * 3600
    cp = ClientProfile.create(keypair, ForgingKey.generate(rng), tag, expires)
    d = EdDSAKeyPair.generate(rng)
    pp = PrekeyProfile.create(keypair, d, tag, expires)
    prekeys: list[PrekeySecret] = []
    for _ in range(MAX_PREKEYS_PER_PUBLICATION):
        prekeys.append(generate_prekey_message(rng, tag,
                                               existing={p.identifier for p in prekeys}))
    pub = build_publication(rng.random_bytes(64), prekeys, rng, client_profile=cp,
                            prekey_profile=SharedPrekey(pp, d)).encode()
    iq = to_text(build_prekey_iq(sender="juliet@capulet.lit/balcony", to="prekeys.capulet.lit",
                                 stanza_id="p1", message=pub))
    retrieval = EnsembleRetrieval(0x100, "juliet@capulet.lit",
                                  (PrekeyEnsemble(cp, pp, prekeys[0].message),)).encode()
    return {
        "publication_prekeys": MAX_PREKEYS_PER_PUBLICATION,
        "publication_bytes": len(pub),
        "publication_base64": len(base64.b64encode(pub)),
        "publication_iq": len(iq.encode("utf-8")),
        "prekey_message_bytes": len(prekeys[0].message.encode()),
        "retrieval_one_bytes": len(retrieval),
    }


def _build() -> dict[str, Any]:
    messages = []
    for mtype in _ORDER:
        cls = MESSAGE_CLASSES[mtype]
        messages.append({
            "name": mtype.spec_name, "type": f"0x{int(mtype):02X}",
            "prefix": mtype.base64_prefix, "sender": _SENDER[mtype],
            "fields": "; ".join(f"{name} ({wire})" for name, wire, _ in cls.FIELDS),
        })
    conditions = [{"condition": c.value, "defined": d, "type": t, "when": when}
                  for c, (d, t, when) in CONDITIONS.items()]
    policy = {
        "low_water_mark": LOW_WATER_MARK,
        "refill_target": REFILL_TARGET,
        "max_per_publication": MAX_PREKEYS_PER_PUBLICATION,
        "max_stored_per_device": DEFAULT_POLICY.max_stored_per_device,
        "retrievals_per_minute": DEFAULT_POLICY.retrievals_per_minute,
        "dake_timeout": DEFAULT_POLICY.dake_timeout,
        "max_message_bytes": DEFAULT_POLICY.max_message_bytes,
    }
    return {
        "prekey_ns": NS_PREKEY,
        "prekey_messages": messages,
        "prekey_conditions": conditions,
        "prekey_policy": policy,
        "prekey_sizes": prekey_sizes(),
        "prekey_disco_items": DISCO_ITEMS_EXAMPLES,
    }


TEMPLATE_DATA: dict[str, Any] = _build()
