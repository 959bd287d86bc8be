"""The reference adapter: this project's own code behind the adapter protocol.

Run it as ``python -m otrv4_conformance.reference``; it claims every level.
It is the runner's end-to-end test and the model for adapters in other
languages: each operation is a few lines over the public API of
:mod:`otrv4`, :mod:`otrv4_xmpp` and :mod:`otrv4.primitives`.  A rejected
input is answered with the name of the error class raised, which is the name
the vector files record.

:mod:`otrv4_conformance.broken` derives deliberately broken adapters from
:class:`ReferenceAdapter` to show that the runner catches them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import IO, Any

from otrv4.clock import FixedClock
from otrv4.data_message import DataMessage, verify_authenticator
from otrv4.errors import OTRError
from otrv4.fragment import Reassembler, parse_fragment
from otrv4.primitives import ed448, eddsa
from otrv4.primitives.cipher import chacha20_xor
from otrv4.primitives.dh3072 import decode_dh_public
from otrv4.primitives.kdf import KdfDomain, hash_to_scalar, kdf, prekey_server_kdf
from otrv4.primitives.keytypes import KeyType, decode_typed_key, encode_typed_key
from otrv4.primitives.ring_signature import (
    OTRV4_AUTH,
    PREKEY_SERVER_AUTH,
    RingSignature,
    ring_verify,
)
from otrv4.primitives.rng import Rng, SystemRng
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4.tlv import TLV, decode_payload, decode_tlvs, encode_payload
from otrv4_xmpp.validation import StanzaValidator

from . import binding
from .device import LiveDevice
from .levels import LEVELS
from .protocol import PROTOCOL_VERSION

__all__ = ["LIVE_OPS", "ReferenceAdapter", "Rejected", "main", "serve"]

Args = dict[str, Any]
Result = dict[str, Any]

LIVE_OPS = frozenset({
    "device.start", "device.receive", "device.send", "device.session", "device.prekeys",
    "device.send_offline", "device.smp_start", "device.smp_answer", "prekey.publish_start",
    "prekey.publish_dake2", "prekey.publish_finish", "prekey.query", "prekey.answer"})
"""The operations on a device made by ``device.new`` (argument ``device``: its JID)."""


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


class Rejected(Exception):
    """An input rejected by a check that answers with a boolean rather than raising;
    the message is the rule's name (e.g. ``AuthenticatorMismatch``)."""


class ReferenceAdapter:
    """Answers every operation of every level with the reference implementation.

    ``rng`` draws the keys of ``device.new`` devices (the OS RNG by default).
    """

    name = "otrv4-xmpp reference (Python)"

    def __init__(self, rng: Rng | None = None) -> None:
        self.rng: Rng = rng or SystemRng()
        self.devices: dict[str, LiveDevice] = {}
        self._validator: StanzaValidator | None = None
        self.ops: dict[str, Callable[[Args], Result]] = {
            "hello": self.hello,
            "bye": lambda a: {},
            "kdf.Otrv4Kdf": lambda a: {"output": kdf(a["usageId"], _b(a["values"]),
                                                     a["size"]).hex()},
            "kdf.PrekeyServerKdf": lambda a: {"output": prekey_server_kdf(
                a["usageId"], _b(a["values"]), a["size"]).hex()},
            "kdf.HashToScalar": self.hash_to_scalar,
            "ed448-points.Ed448BaseMultiplication": self.base_multiplication,
            "ed448-points.Ed448PointValidation": self.point_validation,
            "dh3072.PublicValueValidation": self.dh_validation,
            "eddsa-ed448.EddsaVerify": self.eddsa_verify,
            "ring-signature.RingVerify": self.ring_verify,
            "pubkey-encoding.TypedKeyEncoding": lambda a: {"encoded": encode_typed_key(
                ed448.Point.decode(_b(a["point"])), KeyType(a["keyType"])).hex()},
            "pubkey-encoding.TypedKeyDecoding": lambda a: {"point": decode_typed_key(
                _b(a["encoded"]), KeyType(a["keyType"])).encode().hex()},
            "tlv.TlvEncoding": lambda a: {"encoded": TLV(a["type"], _b(a["value"])).encode()
                                          .hex()},
            "client-profile.accepted": self.client_profile,
            "client-profile.rejected": self.client_profile,
            "prekey-profile.accepted": self.prekey_profile,
            "prekey-profile.rejected": self.prekey_profile,
            "chacha20.ChaCha20": lambda a: {"ciphertext": chacha20_xor(
                _b(a["key"]), _b(a["nonce"]), a["counter"], _b(a["plaintext"])).hex()},
            "tlv.PlaintextEncoding": lambda a: {"plaintext": encode_payload(
                a["text"], [decode_tlvs(_b(t))[0] for t in a["tlvs"]]).hex()},
            "tlv.PlaintextReceiving": self.plaintext_receiving,
            "tlv.StrictDecoding": self.strict_decoding,
            "data-message.DataMessageDecoding": lambda a: {
                "encoded": DataMessage.decode(_b(a["encoded"])).encode().hex()},
            "data-message.DataMessageAuthenticator": self.authenticator,
            "fragment.FragmentParsing": lambda a: {"parsed": bool(parse_fragment(
                a["fragment"]))},
            "fragment.Reassembly": self.reassembly,
            "fragment.ReassemblyFailure": self.reassembly,
            "device.new": self.device_new,
            "stanza.read": lambda a: binding.read_stanza(self.validator, a["xml"]),
            "stanza.build_otr": binding.build_otr,
            "stanza.build_devices": binding.build_devices,
        }

    @property
    def validator(self) -> StanzaValidator:
        """The schema validator, compiled on first use."""
        if self._validator is None:
            self._validator = StanzaValidator(binding.schema_locations())
        return self._validator

    def hello(self, a: Args) -> Result:
        return {"name": self.name, "levels": [level.number for level in LEVELS],
                "protocol": PROTOCOL_VERSION}

    # -- level 1 -----------------------------------------------------------------------

    def hash_to_scalar(self, a: Args) -> Result:
        scalar = hash_to_scalar(a["usageId"], _b(a["data"]),
                                KdfDomain(a["prefix"].encode("ascii")))
        return {"scalar": ed448.encode_scalar(scalar).hex()}

    def base_multiplication(self, a: Args) -> Result:
        p = ed448.base_mul(int(a["k"]))
        return {"encoded": p.encode().hex(), "x": p.x, "y": p.y}

    def point_validation(self, a: Args) -> Result:
        p = ed448.Point.decode(_b(a["encoded"]))
        return {"x": p.x, "y": p.y}

    def dh_validation(self, a: Args) -> Result:
        decode_dh_public(_b(a["mpi"]))
        return {}

    def eddsa_verify(self, a: Args) -> Result:
        eddsa.verify(_b(a["public"]), _b(a["message"]), _b(a["signature"]), _b(a["context"]))
        return {}

    def ring_verify(self, a: Args) -> Result:
        domain = PREKEY_SERVER_AUTH if a["prefix"] == "OTR-Prekey-Server" else OTRV4_AUTH
        ring = (ed448.Point.decode(_b(a["A1"])), ed448.Point.decode(_b(a["A2"])),
                ed448.Point.decode(_b(a["A3"])))
        ring_verify(ring, RingSignature.decode(_b(a["sigma"])), _b(a["message"]), domain)
        return {}

    # -- level 2 (profiles) ------------------------------------------------------------

    def client_profile(self, a: Args) -> Result:
        profile = ClientProfile.decode(_b(a["profile"]))
        profile.validate(a["sender_tag"], FixedClock(a["now"]))
        return {"reencoded": profile.encode().hex(), "signed_part": profile.signed_part().hex()}

    def prekey_profile(self, a: Args) -> Result:
        profile = PrekeyProfile.decode(_b(a["profile"]))
        profile.validate(ed448.Point.decode(_b(a["public_key"])), a["sender_tag"],
                         FixedClock(a["now"]))
        return {"signature": profile.signature.hex(), "signed_part": profile.signed_part().hex()}

    # -- level 3 -----------------------------------------------------------------------

    def plaintext_receiving(self, a: Args) -> Result:
        p = decode_payload(_b(a["plaintext"]))
        return {"text": p.text, "corrupted": p.corrupted,
                "tlvs": [t.encode().hex() for t in p.tlvs],
                "unknown": [t.encode().hex() for t in p.unknown],
                "positions": list(p.positions)}

    def strict_decoding(self, a: Args) -> Result:
        if "tlvs" in a:
            return {"tlvs": [t.encode().hex() for t in decode_tlvs(_b(a["tlvs"]))]}
        return {"text": decode_payload(_b(a["plaintext"])).text}

    def authenticator(self, a: Args) -> Result:
        if not verify_authenticator(_b(a["mkMac"]), DataMessage.decode(_b(a["encoded"]))):
            raise Rejected("AuthenticatorMismatch")
        return {}

    def reassembly(self, a: Args) -> Result:
        r = Reassembler(a["ourTag"], FixedClock(0))
        results = [r.receive(f) for f in a["fragments"]]
        return {"message": results[-1]}

    # -- live sessions -----------------------------------------------------------------

    def new_device(self, jid: str, now: int) -> LiveDevice:
        """The device behind ``device.new`` (broken adapters override this)."""
        return LiveDevice(jid, now, self.rng)

    def device_new(self, a: Args) -> Result:
        device = self.new_device(a["jid"], a["now"])
        self.devices[a["jid"]] = device
        return device.hello()

    # -- dispatch ----------------------------------------------------------------------

    def handle(self, op: str, args: Args) -> dict[str, Any]:
        """The reply body (without ``id``) for one request."""
        if op.startswith(("device.", "prekey.")) and op != "device.new":
            device = self.devices.get(args.get("device", ""))
            if device is None:
                return {"error": "NoSuchDevice", "message": f"no device {args.get('device')!r}"}
            try:
                return {"result": device.call(op, args)}
            except KeyError as e:
                if op in LIVE_OPS:
                    return {"error": "KeyError", "message": str(e)}
                return {"unsupported": True}
            except (OTRError, ValueError) as e:
                return {"error": type(e).__name__, "message": str(e)}
        fn = self.ops.get(op)
        if fn is None:
            return {"unsupported": True}
        try:
            return {"result": fn(args)}
        except Rejected as e:
            return {"error": str(e)}
        except (OTRError, ValueError, binding.SchemaViolation) as e:
            return {"error": type(e).__name__, "message": str(e)}


def serve(adapter: ReferenceAdapter, stdin: IO[str], stdout: IO[str]) -> None:
    """Answer requests from ``stdin`` on ``stdout`` until ``bye`` or end of input."""
    for line in stdin:
        request = json.loads(line)
        body = adapter.handle(request["op"], request.get("args", {}))
        stdout.write(json.dumps({"id": request["id"], **body}, separators=(",", ":")) + "\n")
        stdout.flush()
        if request["op"] == "bye":
            return


def main(argv: list[str] | None = None) -> int:
    """``python -m otrv4_conformance.reference``."""
    serve(ReferenceAdapter(), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
