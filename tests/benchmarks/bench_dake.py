"""Benchmark: the interactive and the non-interactive DAKE, both sides, against a peer.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_dake.py``

Each row is a complete DAKE or one side of it, including encoding, decoding
and every validation (profiles, points, DH values, ring signatures, Auth MAC).
Long-term keys and profiles exist beforehand (as in a client); each run makes
fresh ephemeral keys from a deterministic generator.

Peer measured in the same run: an X3DH-shaped handshake with OpenSSL through
``cryptography`` — per side, two X448 key generations, three X448 agreements,
one Ed448 signature made and one verified (python-omemo is not installed here).
The design notes' published figures for python-omemo 2.1 (OMEMO:2 backend) are
printed for reference: 8.6 ms to start a session on the sending side, 25.4 ms
on the receiving side.

Target: <= 15 ms per complete DAKE.  Also printed: the costs of the two
primitives the DAKEs are made of, measured here, and how many of each a DAKE
needs, so the floor is visible.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.x448 import X448PrivateKey

from otrv4 import dake, xzdh
from otrv4.dake import START
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, generate_prekey_message
from otrv4.primitives import dh3072, ed448
from otrv4.primitives.dh3072 import dh_shared_secret, generate_dh
from otrv4.primitives.rng import DeterministicRng
from otrv4_xepgen.vectorsets import dake as scenarios

PUBLISHED_OMEMO_SEND_MS = 8.6
PUBLISHED_OMEMO_RECEIVE_MS = 25.4


def per_op_ms(fn: Callable[[], Any], budget: float = 0.5) -> float:
    """Best time per call of ``fn`` in milliseconds, over 5 rounds of about ``budget`` s."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    number = max(1, int(number * budget / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e3


def main() -> None:
    inter = scenarios.interactive_run("bench-dake")
    bob, alice = inter.bob, inter.alice
    rng = DeterministicRng("bench-dake/ephemeral")

    identity_msg = inter.identity
    assert identity_msg.send is not None and inter.auth_r.send is not None
    assert inter.auth_i.send is not None
    identity_raw = identity_msg.send.encode()
    auth_r_raw = inter.auth_r.send.encode()
    auth_i_raw = inter.auth_i.send.encode()

    def interactive() -> None:
        s1 = dake.start(bob, rng)
        assert s1.send is not None
        s2 = dake.receive(alice, START, s1.send.encode(), rng)
        assert s2.send is not None
        s3 = dake.receive(bob, s1.state, s2.send.encode(), rng)
        assert s3.send is not None
        s4 = dake.receive(alice, s2.state, s3.send.encode(), rng)
        assert s4.result is not None and s3.result is not None

    def initiator_side() -> None:  # make Identity; take Auth-R, make Auth-I, init ratchet
        dake.start(bob, rng)
        dake.receive(bob, inter.identity.state, auth_r_raw, rng)

    def responder_side() -> None:  # take Identity, make Auth-R; take Auth-I, init ratchet
        dake.receive(alice, START, identity_raw, rng)
        dake.receive(alice, inter.auth_r.state, auth_i_raw, rng)

    non = scenarios.non_interactive_run("bench-dake/xzdh")
    prekeys = [generate_prekey_message(rng, scenarios.BOB_TAG) for _ in range(1)]
    local = LocalPrekeys(non.local.client_profiles, non.local.prekey_profiles, tuple(prekeys))
    ensemble = PrekeyEnsemble(non.ensemble.client_profile, non.ensemble.prekey_profile,
                              prekeys[0].message)
    nia_raw = xzdh.send_non_interactive_auth(non.alice, ensemble, rng)[0].encode()

    def non_interactive() -> None:
        msg, _ = xzdh.send_non_interactive_auth(non.alice, ensemble, rng)
        xzdh.receive_non_interactive_auth(non.bob, local, msg.encode())

    def nia_sender() -> None:  # validate the ensemble, make Non-Interactive-Auth
        xzdh.send_non_interactive_auth(non.alice, ensemble, rng)[0].encode()

    def nia_receiver() -> None:  # decode, validate, verify, derive
        xzdh.receive_non_interactive_auth(non.bob, local, nia_raw)

    # ---- peer: an X3DH-shaped handshake on OpenSSL (X448 + Ed448), both sides
    alice_id = Ed448PrivateKey.generate()
    bob_signed = X448PrivateKey.generate()
    transcript = b"t" * 200

    def peer_side() -> None:
        e1, e2 = X448PrivateKey.generate(), X448PrivateKey.generate()
        e1.exchange(bob_signed.public_key())
        e2.exchange(bob_signed.public_key())
        e1.exchange(e2.public_key())
        sig = alice_id.sign(transcript)
        alice_id.public_key().verify(sig, transcript)

    def peer() -> None:
        peer_side()
        peer_side()

    # ---- primitive costs (the floor)
    pair = generate_dh(rng)
    other = generate_dh(rng).public
    point = ed448.base_mul(12345)
    prim = {
        "3072-bit DH exponentiation (generateDH)": per_op_ms(lambda: generate_dh(rng)),
        "3072-bit DH shared secret (incl. subgroup check)":
            per_op_ms(lambda: dh_shared_secret(pair.secret, other)),
        "Ed448 variable-base multiplication": per_op_ms(lambda: point * (2**440 + 12345)),
        "Ed448 point decode + validation": per_op_ms(lambda: ed448.Point.decode(point.encode())),
    }

    peer_ms = per_op_ms(peer)
    rows = [
        ("interactive DAKE, both sides", per_op_ms(interactive)),
        ("  initiator (Identity; Auth-R -> Auth-I, ratchet)", per_op_ms(initiator_side)),
        ("  responder (Identity -> Auth-R; Auth-I, ratchet)", per_op_ms(responder_side)),
        ("non-interactive DAKE, both sides", per_op_ms(non_interactive)),
        ("  sender (ensemble -> Non-Interactive-Auth)", per_op_ms(nia_sender)),
        ("  receiver (Non-Interactive-Auth -> keys)", per_op_ms(nia_receiver)),
    ]

    print(f"Ed448 backend: {ed448.get_backend()}; DH backend: {dh3072.get_backend()}")
    print()
    print(f"{'operation':52} {'ms':>8} {'x peer':>8}")
    for name, ms in rows:
        print(f"{name:52} {ms:8.2f} {ms / peer_ms:8.2f}")
    print(f"{'peer: X3DH-shaped X448+Ed448 handshake, both sides':52} {peer_ms:8.2f} {1:8.2f}")
    print()
    print("published peer (design notes, python-omemo 2.1, OMEMO:2): "
          f"{PUBLISHED_OMEMO_SEND_MS} ms sending side, {PUBLISHED_OMEMO_RECEIVE_MS} ms "
          f"receiving side, {PUBLISHED_OMEMO_SEND_MS + PUBLISHED_OMEMO_RECEIVE_MS:.1f} ms both")
    both = rows[0][1]
    print(f"interactive DAKE / python-omemo both sides: "
          f"{both / (PUBLISHED_OMEMO_SEND_MS + PUBLISHED_OMEMO_RECEIVE_MS):.2f}")
    print(f"non-interactive DAKE / python-omemo both sides: "
          f"{rows[3][1] / (PUBLISHED_OMEMO_SEND_MS + PUBLISHED_OMEMO_RECEIVE_MS):.2f}")
    print()
    print("primitive costs (the floor):")
    for name, ms in prim.items():
        print(f"  {name:50} {ms:8.3f} ms")
    dh_gen, dh_shared = prim["3072-bit DH exponentiation (generateDH)"], \
        prim["3072-bit DH shared secret (incl. subgroup check)"]
    print("  interactive DAKE: 5 generateDH + 5 DH shared secrets (the initiator's second "
          f"ratchet key included) = {5 * dh_gen + 5 * dh_shared:.2f} ms of 3072-bit DH")
    print("  non-interactive DAKE (sender + receiver): 2 generateDH + 2 DH shared secrets = "
          f"{2 * dh_gen + 2 * dh_shared:.2f} ms of 3072-bit DH")


if __name__ == "__main__":
    main()
