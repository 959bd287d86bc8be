"""The peers the benchmarks compare against, run in the same process.

python-omemo 2.1 with its OMEMO:2 backend (``twomemo``), installed by the
``bench`` extra (``pip install -e '.[bench]'``, which ``make bench`` does):

* :class:`OmemoX3DH` — twomemo's X3DH state (``twomemo.twomemo.StateImpl``, the
  class python-omemo's OMEMO:2 backend uses), one key agreement with both
  sides: the active side (bundle signature verified, three or four X25519
  agreements) and the passive side (the same agreements from the header);
* :class:`OmemoRatchet` — twomemo's Double Ratchet (``DoubleRatchetImpl`` with
  its KDFs and AEAD, exactly as the backend configures it), started from an
  X3DH shared secret, then messages encrypted by one side and decrypted by the
  other.

Each object exposes synchronous callables (:func:`run` drives the peer's
coroutines as an ``await`` in a client's event loop would; one that suspends
finishes on an event loop kept for the process), so the benchmark harness
times them the same way it times the project.  :func:`available` says whether the peer is
installed; a benchmark without its peer says so and gives no verdict.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar, cast

T = TypeVar("T")

_LOOP: asyncio.AbstractEventLoop | None = None

PEER_NAME = "python-omemo 2.1 (OMEMO:2 backend twomemo)"


def available() -> bool:
    """Whether python-omemo and its OMEMO:2 backend are importable."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("omemo", "twomemo", "x3dh", "doubleratchet", "xeddsa"))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine of the peer to completion, as a caller that awaits it would.

    A client of python-omemo awaits its coroutines inside its own event loop, where
    awaiting one that never suspends costs a function call.  ``run_until_complete``
    instead wraps each in a task and turns the loop (a selector poll included),
    which made a message of the peer look about a third slower than it is (four
    coroutines per message).  So the coroutine is driven directly; only one that
    does suspend (waits for a future) is finished on the process's event loop.
    """
    try:
        pending = coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return cast(T, _LOOP.run_until_complete(_finish(_Resumed(coro, pending))))


class _Resumed:
    """The rest of a coroutine that suspended on ``pending``, as an awaitable."""

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro, self.pending = coro, pending

    def __await__(self) -> Generator[Any, Any, Any]:
        pending = self.pending
        while True:
            try:
                sent = yield pending
            except BaseException as exc:  # delivered into the peer's coroutine
                try:
                    pending = self.coro.throw(exc)
                except StopIteration as done:
                    return done.value
                continue
            try:
                pending = self.coro.send(sent)
            except StopIteration as done:
                return done.value


async def _finish(rest: _Resumed) -> Any:
    return await rest


def _twomemo() -> Any:
    import twomemo.twomemo as tm

    return tm


class OmemoX3DH:
    """One X3DH key agreement of python-omemo's OMEMO:2 backend, both sides."""

    def __init__(self) -> None:
        import x3dh

        tm = _twomemo()
        self._tm = tm
        args = (x3dh.IdentityKeyFormat.ED_25519, x3dh.HashFunction.SHA_256, tm.StateImpl.INFO)
        self.alice = tm.StateImpl.create(*args)
        self.bob = tm.StateImpl.create(*args)
        self.bob.generate_pre_keys(100)

    def active(self) -> Any:
        """Alice's side: verify Bob's bundle, agree; returns the header for Bob."""
        bundle = self.bob.bundle
        _secret, _ad, header = run(self.alice.get_shared_secret_active(bundle))
        return header

    def passive(self, header: Any) -> bytes:
        """Bob's side: agree from Alice's header (the pre key is kept for the next round)."""
        secret, _ad, _spk = run(self.bob.get_shared_secret_passive(header, require_pre_key=True))
        return bytes(secret)

    def both(self) -> None:
        """A complete key agreement: active, then passive."""
        self.passive(self.active())


class OmemoRatchet:
    """python-omemo's OMEMO:2 Double Ratchet between two parties."""

    PLAINTEXT_AD = b"associated data"

    def __init__(self, first_message: bytes) -> None:
        import secrets

        from doubleratchet.recommended import diffie_hellman_ratchet_curve25519 as dhr

        tm = _twomemo()
        x = OmemoX3DH()
        header = x.active()
        secret = x.passive(header)
        bob_spk = x.bob.bundle.signed_pre_key
        spk_priv = _signed_pre_key_priv(x.bob)
        common = (dhr.DiffieHellmanRatchet, tm.RootChainKDFImpl, tm.MessageChainKDFImpl,
                  tm.DoubleRatchetImpl.MESSAGE_CHAIN_CONSTANT, 1000, 1000, tm.AEADImpl, secret)
        self.alice, first = run(tm.DoubleRatchetImpl.encrypt_initial_message(
            *common, bob_spk, first_message, self.PLAINTEXT_AD))
        self.bob, _ = run(tm.DoubleRatchetImpl.decrypt_initial_message(
            *common, spk_priv, first, self.PLAINTEXT_AD))
        del secrets

    def send(self, sender: Any, receiver: Any, plaintext: bytes) -> bytes:
        """Encrypt with ``sender``, decrypt with ``receiver``; returns the plaintext."""
        message = run(sender.encrypt_message(plaintext, self.PLAINTEXT_AD))
        return bytes(run(receiver.decrypt_message(message, self.PLAINTEXT_AD)))


def _signed_pre_key_priv(state: Any) -> bytes:
    """The private signed pre key of an X3DH state (through its JSON model)."""
    model = state.model
    return bytes(model.signed_pre_key.priv)


def _memory_storage() -> Any:
    """python-omemo's storage interface over a dict (as its own tests keep one)."""
    from omemo.storage import Just, Nothing, Storage

    class MemoryStorage(Storage):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._data: dict[str, Any] = {}

        async def _load(self, key: str) -> Any:
            return Just(self._data[key]) if key in self._data else Nothing()

        async def _store(self, key: str, value: Any) -> None:
            self._data[key] = value

        async def _delete(self, key: str) -> None:
            self._data.pop(key, None)

    return MemoryStorage()


class OmemoMessages:
    """One message of python-omemo's OMEMO:2 backend from one device to another, as the
    backend does it: the content encrypted (AES-CBC + HMAC), its key material encrypted
    with the Double Ratchet and serialized (protobuf), then parsed, decrypted and the
    content decrypted on the other side.  The session is built with the backend's own
    active and passive X3DH session building."""

    def __init__(self) -> None:
        tm = _twomemo()
        self._tm = tm
        self.a = tm.Twomemo(_memory_storage())
        self.b = tm.Twomemo(_memory_storage())
        run(self.b.generate_pre_keys(10))
        bundle = run(self.b.get_bundle("bob@example.org", 2))
        content, key_material = run(self.a.encrypt_plaintext(b"first"))
        self.session_a, encrypted = run(self.a.build_session_active(
            "bob@example.org", 2, bundle, key_material))
        self.session_b, plain = run(self.b.build_session_passive(
            "alice@example.org", 1, self.session_a.key_exchange, encrypted))
        assert run(self.b.decrypt_plaintext(content, plain)) == b"first"
        self.sides = [(self.a, self.session_a, "alice@example.org", 1),
                      (self.b, self.session_b, "bob@example.org", 2)]

    def send(self, plaintext: bytes, *, swap: bool = False) -> bytes:
        """One message from the current sender to the other side (``swap`` afterwards)."""
        (sender, s_session, s_jid, s_id), (receiver, r_session, _, _) = self.sides
        content, key_material = run(sender.encrypt_plaintext(plaintext))
        wire = run(sender.encrypt_key_material(s_session, key_material)).serialize()
        parsed = self._tm.EncryptedKeyMaterialImpl.parse(wire, s_jid, s_id)
        plain = run(receiver.decrypt_key_material(r_session, parsed))
        received = bytes(run(receiver.decrypt_plaintext(content, plain)))
        if swap:
            self.sides.reverse()
        return received
