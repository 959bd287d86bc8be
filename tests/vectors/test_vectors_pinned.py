"""The committed vectors pin the bytes: optimisations of the primitives, the DAKEs, the
ratchet and SMP must reproduce ``examples/vectors/*.json`` exactly.

Each producer of :func:`otrv4_xepgen.vectorsets.all_vector_files` runs on the current
code and is serialized with the committed file's ``sourceTree`` (the only field
that names the code rather than its output); the text must equal the committed
file byte for byte.  ``make check-generated`` checks the same after a full
build; this test says which file broke, and runs with the unit tests.  It runs on
each Ed448 backend (libdecaf, pycryptodome, the pure-Python reference): they must all
give the committed bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otrv4.primitives import dh3072
from otrv4_xepgen.vectors import dump_vectors
from otrv4_xepgen.vectorsets import all_vector_files

from ..conftest import ED448_BACKENDS, ed448_backend_in_use

VECTORS = Path(__file__).resolve().parents[2] / "examples" / "vectors"
PRODUCERS = all_vector_files()
# The sets whose code issue 15 optimised; the rest are pinned too, for free.
OPTIMISED = ("dake-interactive", "dake-non-interactive", "ratchet", "smp", "ring-signature",
             "dh3072", "eddsa-ed448", "ecdh-ed448", "data-message", "prekey-server-dake")


def _committed(stem: str) -> str:
    return (VECTORS / f"{stem}.json").read_text(encoding="utf-8")


def test_every_committed_vector_file_has_a_producer() -> None:
    assert sorted(p.stem for p in VECTORS.glob("*.json")) == sorted(PRODUCERS)
    assert set(OPTIMISED) <= set(PRODUCERS)


@pytest.mark.parametrize("backend", ED448_BACKENDS)
@pytest.mark.parametrize("stem", sorted(PRODUCERS))
def test_vectors_are_reproduced_byte_for_byte(stem: str, backend: str) -> None:
    committed = _committed(stem)
    source_tree = json.loads(committed)["generator"]["sourceTree"]
    with ed448_backend_in_use(backend):
        assert dump_vectors(PRODUCERS[stem](), source_tree) == committed


@pytest.mark.parametrize("stem", ["dake-interactive", "dake-non-interactive", "dh3072"])
def test_constant_time_generator_path_gives_the_same_vectors(stem: str) -> None:
    committed = _committed(stem)
    source_tree = json.loads(committed)["generator"]["sourceTree"]
    previous = dh3072.set_generator_path("constant-time")
    try:
        assert dump_vectors(PRODUCERS[stem](), source_tree) == committed
    finally:
        dh3072.set_generator_path(previous)


@pytest.mark.skipif(not dh3072.openssl_available(), reason="cryptography without FFDH")
@pytest.mark.parametrize("stem", ["dake-interactive", "ratchet"])
def test_gmpy2_shared_secret_path_gives_the_same_vectors(stem: str) -> None:
    committed = _committed(stem)
    source_tree = json.loads(committed)["generator"]["sourceTree"]
    previous = dh3072.set_openssl(False)
    try:
        assert dump_vectors(PRODUCERS[stem](), source_tree) == committed
    finally:
        dh3072.set_openssl(previous)
