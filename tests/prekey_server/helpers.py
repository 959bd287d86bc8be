"""Shared builders for the prekey-server tests: devices, a server, a direct exchange."""

from __future__ import annotations

from dataclasses import dataclass

from otrv4.clock import FixedClock
from otrv4.instance_tag import generate_instance_tag
from otrv4.keys import ForgingKey
from otrv4.prekeys import LocalPrekeys, PrekeySecret, generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng, Rng
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4_prekey.client import Exchange, PublisherClient
from otrv4_prekey.dake import PublisherIdentity, ServerIdentity
from otrv4_prekey.publication import SharedPrekey
from otrv4_prekey.server import PrekeyServer, ServerPolicy
from otrv4_prekey.storage import InMemoryStorage, Storage

NOW = 1_776_945_600
WEEK = 7 * 24 * 3600
SERVICE = "prekeys.capulet.lit"


@dataclass
class Device:
    """A publishing device with everything it needs."""

    identity: PublisherIdentity
    shared: SharedPrekey
    local: LocalPrekeys

    @property
    def tag(self) -> int:
        return self.identity.instance_tag

    def prekeys(self, rng: Rng, n: int) -> list[PrekeySecret]:
        out: list[PrekeySecret] = []
        used = {p.identifier for p in self.local.prekeys}
        for _ in range(n):
            p = generate_prekey_message(rng, self.tag, existing=used)
            used.add(p.identifier)
            out.append(p)
        return out


def make_device(rng: Rng, jid: str, *, expiration: int = NOW + WEEK,
                tag: int | None = None) -> Device:
    keypair = EdDSAKeyPair.generate(rng)
    forging = ForgingKey.generate(rng)
    itag = generate_instance_tag(rng) if tag is None else tag
    cp = ClientProfile.create(keypair, forging, itag, expiration)
    d = EdDSAKeyPair.generate(rng)
    pp = PrekeyProfile.create(keypair, d, itag, expiration)
    ident = PublisherIdentity(jid, itag, keypair, cp)
    return Device(ident, SharedPrekey(pp, d), LocalPrekeys((cp,), ((pp, d),)))


def make_server(rng: Rng, clock: FixedClock, storage: Storage | None = None,
                policy: ServerPolicy | None = None) -> PrekeyServer:
    ident = ServerIdentity(SERVICE, EdDSAKeyPair.generate(rng))
    return PrekeyServer(ident, storage or InMemoryStorage(), rng, clock,
                        policy or ServerPolicy(publisher_domains=frozenset({"capulet.lit"})))


def exchange_for(server: PrekeyServer, jid: str) -> Exchange:
    def send(data: bytes) -> bytes:
        return server.handle(jid, data).encode()
    return send


def client_for(device: Device, server: PrekeyServer, rng: Rng) -> PublisherClient:
    return PublisherClient(device.identity, server.identity.jid, rng,
                           server.identity.fingerprint)


def rng(label: str) -> DeterministicRng:
    return DeterministicRng(f"test:prekey:{label}")
