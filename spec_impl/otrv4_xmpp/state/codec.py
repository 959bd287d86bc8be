"""The versioned record format of durable device state (``docs/storage.rst``).

Every record is one UTF-8 JSON object written canonically (keys sorted, no
spaces), so encoding a decoded record gives the same bytes.  Two fields are in
every record: ``"kind"`` (what it holds) and ``"v"`` (its format version,
:data:`VERSION`; 1 is the first release).  Byte strings are base64 (RFC 4648
§4, padded), Ed448 points their 57-byte encoding in base64, 3072-bit DH values
lowercase hex, small integers JSON numbers.

Kinds (one record each unless said): ``identity`` (:class:`DeviceIdentity`:
the secret of the long-term key, the forging key (its secret if kept), the
shared prekey's secret, the encoded Client Profile and Prekey Profile, the
mode); ``prekeys`` (:class:`otrv4.prekeys.LocalPrekeys`: every Client and
Prekey Profile still valid with the shared prekey secrets, and the secrets of
every published, unused Prekey message); ``pair`` (one per conversation with
one device, :class:`PairSession`: protocol state, DAKE state with its secrets,
double ratchet with its skipped message keys, SMP state, queued (text and TLVs) and stored
messages, timers, the received (ratchet id, message id) pairs); ``note`` (one
per name: small JSON values the binding keeps, e.g. device lists last seen,
trust decisions, pinned prekey-service fingerprints, the archive position,
undelivered plaintexts).

Reading a record whose ``v`` is above :data:`VERSION` raises
:class:`~otrv4_xmpp.state.errors.NewerRecordVersionError`; anything that is not a
record of its kind raises :class:`~otrv4_xmpp.state.errors.CorruptRecordError`.
Both name the record; reading never writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from otrv4 import dake, smp
from otrv4.clock import Clock
from otrv4.data_message import DataMessage
from otrv4.errors import OTRError
from otrv4.keys import ForgingKey
from otrv4.messages import AuthRMessage, IdentityMessage
from otrv4.modes import Mode
from otrv4.prekeys import LocalPrekeys, PrekeySecret
from otrv4.primitives.dh3072 import DHKeyPair
from otrv4.primitives.ecdh import ECDHKeyPair
from otrv4.primitives.ed448 import Point
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4.ratchet import DoubleRatchet, RatchetSnapshot, SkippedKey
from otrv4.session import ProtocolState, Session, SessionConfig, UserMessage
from otrv4.tlv import TLV

from ..device import DeviceIdentity, PairSession
from .errors import CorruptRecordError, NewerRecordVersionError, OlderRecordVersionError

__all__ = [
    "VERSION",
    "decode_identity",
    "decode_note",
    "decode_pair",
    "decode_prekeys",
    "encode_identity",
    "encode_note",
    "encode_pair",
    "encode_prekeys",
    "record_kind",
]

#: The format version this release writes and the newest it reads.
VERSION = 1

J = dict[str, Any]
T = TypeVar("T")


# --------------------------------------------------------------------------- leaves


def _b(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _ub(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(value.encode("ascii"), validate=True)


def _ob(data: bytes | None) -> str | None:
    return None if data is None else _b(data)


def _uob(value: object) -> bytes | None:
    return None if value is None else _ub(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _oint(value: object) -> int | None:
    return None if value is None else _int(value)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _big(value: int) -> str:
    return format(value, "x")


def _ubig(value: object) -> int:
    return int(_str(value), 16)


def _point(p: Point) -> str:
    return _b(p.encode())


def _upoint(value: object) -> Point:
    return Point.decode(_ub(value))


def _eddsa(k: EdDSAKeyPair) -> str:
    return _b(k.sym_key)


def _ueddsa(value: object) -> EdDSAKeyPair:
    return EdDSAKeyPair.from_secret(_ub(value))


def _ecdh(k: ECDHKeyPair | None) -> str | None:
    return None if k is None else _b(k.seed)


def _uecdh(value: object) -> ECDHKeyPair | None:
    return None if value is None else ECDHKeyPair.from_seed(_ub(value))


def _dh(k: DHKeyPair | None) -> J | None:
    return None if k is None else {"secret": _big(k.secret), "public": _big(k.public)}


def _udh(value: object) -> DHKeyPair | None:
    if value is None:
        return None
    d = _obj(value)
    return DHKeyPair(_ubig(d["secret"]), _ubig(d["public"]))


def _obj(value: object) -> J:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


# --------------------------------------------------------------------------- envelope


def _dump(kind: str, body: J) -> bytes:
    body = dict(body, kind=kind, v=VERSION)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                      ).encode("utf-8")


def record_kind(data: bytes, name: str = "record") -> str:
    """The ``kind`` of a stored record.  Raises :class:`CorruptRecordError` and
    :class:`NewerRecordVersionError` (naming ``name``)."""
    return _str(_load(data, None, name)["kind"])


def _load(data: bytes, kind: str | None, name: str) -> J:
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecordError(f"{name}: not a stored record ({exc})") from exc
    if not isinstance(body, dict) or not isinstance(body.get("v"), int) \
            or not isinstance(body.get("kind"), str):
        raise CorruptRecordError(f"{name}: not a stored record (no kind or version)")
    if body["v"] > VERSION:
        raise NewerRecordVersionError(
            f"{name}: record version {body['v']} was written by a newer release "
            f"(this one reads up to {VERSION}); nothing was changed")
    if body["v"] < 1:
        raise OlderRecordVersionError(f"{name}: record version {body['v']} is not supported")
    if kind is not None and body["kind"] != kind:
        raise CorruptRecordError(f"{name}: a {body['kind']!r} record, expected {kind!r}")
    return body


def _guard(name: str, build: Callable[[], T]) -> T:
    """Run ``build``; any malformed field becomes :class:`CorruptRecordError` naming ``name``."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, binascii.Error, OTRError) as exc:
        if isinstance(exc, (NewerRecordVersionError, CorruptRecordError)):
            raise
        raise CorruptRecordError(f"{name}: malformed record ({type(exc).__name__}: {exc})"
                                 ) from exc


# --------------------------------------------------------------------------- identity


def encode_identity(identity: DeviceIdentity) -> bytes:
    """The ``identity`` record of ``identity``.  Raises nothing."""
    forging = identity.forging_key
    return _dump("identity", {
        "keypair": _eddsa(identity.keypair),
        "forging_public": _point(forging.public),
        "forging_secret": None if forging.keypair is None else _eddsa(forging.keypair),
        "client_profile": _b(identity.client_profile.encode()),
        "shared_prekey": _eddsa(identity.shared_prekey),
        "prekey_profile": _b(identity.prekey_profile.encode()),
        "mode": identity.mode.value,
    })


def decode_identity(data: bytes, name: str = "identity") -> DeviceIdentity:
    """Read an ``identity`` record.  Raises :class:`CorruptRecordError`,
    :class:`NewerRecordVersionError`."""
    d = _load(data, "identity", name)

    def build() -> DeviceIdentity:
        secret = d["forging_secret"]
        forging = ForgingKey(_upoint(d["forging_public"]),
                             None if secret is None else _ueddsa(secret))
        return DeviceIdentity(_ueddsa(d["keypair"]), forging,
                              ClientProfile.decode(_ub(d["client_profile"])),
                              _ueddsa(d["shared_prekey"]),
                              PrekeyProfile.decode(_ub(d["prekey_profile"])),
                              Mode(d["mode"]))
    return _guard(name, build)


# --------------------------------------------------------------------------- prekeys


def _prekey_secret(p: PrekeySecret) -> J:
    return {"id": p.identifier, "owner": p.owner_tag, "ecdh": _ecdh(p.ecdh), "dh": _dh(p.dh)}


def _uprekey_secret(value: object) -> PrekeySecret:
    d = _obj(value)
    ecdh, dh = _uecdh(d["ecdh"]), _udh(d["dh"])
    if ecdh is None or dh is None:
        raise TypeError("a prekey secret needs both keys")
    return PrekeySecret(_int(d["id"]), _int(d["owner"]), ecdh, dh)


def encode_prekeys(local: LocalPrekeys) -> bytes:
    """The ``prekeys`` record.  Raises nothing."""
    return _dump("prekeys", {
        "client_profiles": [_b(p.encode()) for p in local.client_profiles],
        "prekey_profiles": [[_b(p.encode()), _eddsa(k)] for p, k in local.prekey_profiles],
        "prekeys": [_prekey_secret(p) for p in local.prekeys],
    })


def decode_prekeys(data: bytes, name: str = "prekeys") -> LocalPrekeys:
    """Read a ``prekeys`` record.  Raises :class:`CorruptRecordError`,
    :class:`NewerRecordVersionError`."""
    d = _load(data, "prekeys", name)

    def build() -> LocalPrekeys:
        return LocalPrekeys(
            tuple(ClientProfile.decode(_ub(p)) for p in _list(d["client_profiles"])),
            tuple((PrekeyProfile.decode(_ub(p)), _ueddsa(k))
                  for p, k in _list(d["prekey_profiles"])),
            tuple(_uprekey_secret(p) for p in _list(d["prekeys"])))
    return _guard(name, build)


# --------------------------------------------------------------------------- session parts


def _ratchet(r: DoubleRatchet | None) -> J | None:
    if r is None:
        return None
    s = r.snapshot()
    return {
        "our_tag": s.our_tag, "their_tag": s.their_tag,
        "root_key": _ob(s.root_key), "brace_key": _ob(s.brace_key),
        "our_ecdh": _ecdh(s.our_ecdh), "their_ecdh": _b(s.their_ecdh),
        "our_dh": _dh(s.our_dh), "their_dh": _big(s.their_dh),
        "send_id": s.send_id, "send_chain_key": _ob(s.send_chain_key),
        "recv_id": s.recv_id, "recv_chain_key": _ob(s.recv_chain_key),
        "j": s.j, "k": s.k, "pn": s.pn,
        "skipped": [[rid, mid, _b(v.mk_enc), _b(v.extra_key), _b(v.ecdh_public)]
                    for rid, mid, v in s.skipped],
        "mac_keys_to_reveal": [_b(k) for k in s.mac_keys_to_reveal],
        "reveal_now": [_b(k) for k in s.reveal_now],
        "dh_public_in_chain": None if s.dh_public_in_chain is None
        else _big(s.dh_public_in_chain),
        "expired": s.expired,
    }


def _uratchet(value: object, config: SessionConfig) -> DoubleRatchet | None:
    if value is None:
        return None
    d = _obj(value)
    expired = d["expired"]
    if not isinstance(expired, bool):
        raise TypeError("expired is a boolean")
    dhp = d["dh_public_in_chain"]
    snap = RatchetSnapshot(
        _int(d["our_tag"]), _int(d["their_tag"]), _uob(d["root_key"]), _uob(d["brace_key"]),
        _uecdh(d["our_ecdh"]), _ub(d["their_ecdh"]), _udh(d["our_dh"]), _ubig(d["their_dh"]),
        _oint(d["send_id"]), _uob(d["send_chain_key"]), _oint(d["recv_id"]),
        _uob(d["recv_chain_key"]), _int(d["j"]), _int(d["k"]), _int(d["pn"]),
        tuple((_int(r), _int(m), SkippedKey(_ub(a), _ub(b), _ub(c)))
              for r, m, a, b, c in _list(d["skipped"])),
        tuple(_ub(k) for k in _list(d["mac_keys_to_reveal"])),
        tuple(_ub(k) for k in _list(d["reveal_now"])),
        None if dhp is None else _ubig(dhp), expired)
    return DoubleRatchet.restore(snap, config.limits)


def _dake_state(state: dake.DakeState) -> J | None:
    if isinstance(state, dake.WaitingAuthR):
        return {"state": "WAITING_AUTH_R", "our_ecdh": _ecdh(state.our_ecdh),
                "our_dh": _dh(state.our_dh), "ecdh_first": _ecdh(state.ecdh_first),
                "dh_first": _dh(state.dh_first), "identity": _b(state.identity.encode())}
    if isinstance(state, dake.WaitingAuthI):
        return {"state": "WAITING_AUTH_I", "their_identity": _b(state.their_identity.encode()),
                "auth_r": _b(state.auth_r.encode()), "ecdh_first": _ecdh(state.ecdh_first),
                "dh_first": _dh(state.dh_first), "dake_secret": _b(state.dake_secret),
                "ssid": _b(state.ssid), "phi": _b(state.phi)}
    return None


def _need(value: T | None) -> T:
    if value is None:
        raise TypeError("a required key is missing")
    return value


def _udake_state(value: object) -> dake.DakeState:
    if value is None:
        return dake.START
    d = _obj(value)
    if d["state"] == "WAITING_AUTH_R":
        return dake.WaitingAuthR(_need(_uecdh(d["our_ecdh"])), _need(_udh(d["our_dh"])),
                                 _need(_uecdh(d["ecdh_first"])), _need(_udh(d["dh_first"])),
                                 IdentityMessage.decode(_ub(d["identity"])))
    if d["state"] == "WAITING_AUTH_I":
        return dake.WaitingAuthI(IdentityMessage.decode(_ub(d["their_identity"])),
                                 AuthRMessage.decode(_ub(d["auth_r"])),
                                 _need(_uecdh(d["ecdh_first"])), _need(_udh(d["dh_first"])),
                                 _ub(d["dake_secret"]), _ub(d["ssid"]), _ub(d["phi"]))
    raise ValueError(f"unknown DAKE state {d['state']!r}")


def _smp(state: smp.State) -> J:
    if isinstance(state, smp.Expect1):
        return {"state": "EXPECT1",
                "pending": None if state.pending is None else _b(state.pending.encode())}
    if isinstance(state, smp.Expect2):
        return {"state": "EXPECT2", "x": _big(state.x), "a2": _big(state.a2),
                "a3": _big(state.a3)}
    if isinstance(state, smp.Expect3):
        return {"state": "EXPECT3", "g3a": _point(state.g3a), "g2": _point(state.g2),
                "g3": _point(state.g3), "b3": _big(state.b3), "pb": _point(state.pb),
                "qb": _point(state.qb)}
    return {"state": "EXPECT4", "g3b": _point(state.g3b),
            "pa_minus_pb": _point(state.pa_minus_pb), "qa_minus_qb": _point(state.qa_minus_qb),
            "a3": _big(state.a3)}


def _usmp(value: object) -> smp.State:
    d = _obj(value)
    name = d["state"]
    if name == "EXPECT1":
        pending = d["pending"]
        return smp.Expect1(None if pending is None else smp.SmpMessage1.decode(_ub(pending)))
    if name == "EXPECT2":
        return smp.Expect2(_ubig(d["x"]), _ubig(d["a2"]), _ubig(d["a3"]))
    if name == "EXPECT3":
        return smp.Expect3(_upoint(d["g3a"]), _upoint(d["g2"]), _upoint(d["g3"]),
                           _ubig(d["b3"]), _upoint(d["pb"]), _upoint(d["qb"]))
    if name == "EXPECT4":
        return smp.Expect4(_upoint(d["g3b"]), _upoint(d["pa_minus_pb"]),
                           _upoint(d["qa_minus_qb"]), _ubig(d["a3"]))
    raise ValueError(f"unknown SMP state {name!r}")


def _uuser_message(value: object) -> UserMessage:
    d = _obj(value)
    return UserMessage(_str(d["text"]), tuple(TLV(_int(t), _ub(v))
                                              for t, v in _list(d["tlvs"])))


# --------------------------------------------------------------------------- pair sessions


def encode_pair(pair: PairSession) -> bytes:
    """The ``pair`` record of one conversation.  The session's context (our identity,
    JIDs, clock, mode), its configuration and the device's prekey secrets are not in
    it: :func:`decode_pair` takes them from the engine.  Raises nothing."""
    s = pair.session
    return _dump("pair", {
        "peer": pair.peer, "full_jid": pair.full_jid,
        "our_profile": _b(s.ctx.us.client_profile.encode()),
        "state": s.state.value, "dake": _dake_state(s.dake_state),
        "ratchet": _ratchet(s.ratchet), "ssid": _ob(s.ssid),
        "their_fingerprint": _ob(s.their_fingerprint), "their_tag": s.their_tag,
        "smp": _smp(s.smp_state), "smp_we_started": s.smp_we_started,
        "queued": [{"text": q.text, "tlvs": [[t.type, _b(t.value)] for t in q.tlvs]}
                   for q in s.queued],
        "stored": [[t, _b(m.encode())] for t, m in s.stored],
        "last_sent": s.last_sent, "last_ratchet": s.last_ratchet,
        "received": [[r, m] for r, m in pair.received],
        "started_by": _b(pair.started_by),
        "delivered": pair.delivered,
    })


def decode_pair(data: bytes, *, identity: DeviceIdentity, own_jid: str, clock: Clock,
                config: SessionConfig, local_prekeys: LocalPrekeys | None,
                name: str = "pair") -> PairSession:
    """Read a ``pair`` record into a :class:`PairSession` of the device ``identity`` of
    ``own_jid``.  Raises :class:`CorruptRecordError`, :class:`NewerRecordVersionError`."""
    d = _load(data, "pair", name)

    def build() -> PairSession:
        peer = _str(d["peer"])
        us = dake.Participant(identity.keypair, identity.forging_key.public,
                              ClientProfile.decode(_ub(d["our_profile"])))
        ctx = dake.DakeContext(us, own_jid, peer, clock, identity.mode)
        smp_started = d["smp_we_started"]
        if not isinstance(smp_started, bool):
            raise TypeError("smp_we_started is a boolean")
        session = Session(
            ctx, config, ProtocolState(d["state"]), _udake_state(d["dake"]),
            _uratchet(d["ratchet"], config), _uob(d["ssid"]), _uob(d["their_fingerprint"]),
            _int(d["their_tag"]), _usmp(d["smp"]), smp_started,
            tuple(_uuser_message(q) for q in _list(d["queued"])),
            tuple((_int(t), DataMessage.decode(_ub(m))) for t, m in _list(d["stored"])),
            _int(d["last_sent"]), _int(d["last_ratchet"]), local_prekeys)
        received = tuple((_int(r), _int(m)) for r, m in _list(d["received"]))
        return PairSession(peer, _str(d["full_jid"]), session, received,
                           _int(d["delivered"]), _ub(d["started_by"]))
    return _guard(name, build)


# --------------------------------------------------------------------------- notes


def encode_note(value: Any) -> bytes:
    """A ``note`` record holding the JSON value ``value``.  Raises :class:`TypeError` for
    a value JSON cannot hold."""
    return _dump("note", {"value": value})


def decode_note(data: bytes, name: str = "note") -> Any:
    """The value of a ``note`` record.  Raises :class:`CorruptRecordError`,
    :class:`NewerRecordVersionError`."""
    d = _load(data, "note", name)
    if "value" not in d:
        raise CorruptRecordError(f"{name}: malformed record (no value)")
    return d["value"]
