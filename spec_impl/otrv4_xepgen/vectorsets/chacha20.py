"""Vectors for the data message's ChaCha20 (``examples/vectors/chacha20.json``).

Two groups: the data-message encryption of otrv4.md §"When you send a Data
Message" with the decided initial block counter 0 (ambiguity 4), and the
ChaCha20 test vectors of RFC 8439 (§2.4.2 and appendix A.1/A.2) that check the
underlying cipher and its counter/nonce layout.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.primitives.cipher import (
    DATA_MESSAGE_INITIAL_COUNTER,
    DATA_MESSAGE_NONCE,
    chacha20_xor,
    encrypt_data_message,
)
from otrv4.primitives.rng import DeterministicRng

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["RFC8439_VECTORS", "VECTOR_FILES", "chacha20_vectors"]

_LABEL = "chacha20"

_SUNSCREEN = (
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
    b"the future, sunscreen would be it."
)
_JABBERWOCKY = (
    b"'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n"
    b"All mimsy were the borogoves,\nAnd the mome raths outgrabe."
)

#: (comment, key, nonce, counter, plaintext, ciphertext) from RFC 8439.
RFC8439_VECTORS: tuple[tuple[str, bytes, bytes, int, bytes, bytes], ...] = (
    (
        "RFC 8439 §2.3.2 block function (keystream block, counter 1)",
        bytes(range(32)), bytes.fromhex("000000090000004a00000000"), 1, bytes(64),
        bytes.fromhex(
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
        ),
    ),
    (
        "RFC 8439 §2.4.2 encryption, counter 1",
        bytes(range(32)), bytes.fromhex("000000000000004a00000000"), 1, _SUNSCREEN,
        bytes.fromhex(
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
            "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
            "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
            "5af90bbf74a35be6b40b8eedf2785e42874d"
        ),
    ),
    (
        "RFC 8439 A.1 test vector 1 (zero key and nonce, counter 0)",
        bytes(32), bytes(12), 0, bytes(64),
        bytes.fromhex(
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
        ),
    ),
    (
        "RFC 8439 A.1 test vector 2 (zero key and nonce, counter 1)",
        bytes(32), bytes(12), 1, bytes(64),
        bytes.fromhex(
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
            "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
        ),
    ),
    (
        "RFC 8439 A.1 test vector 3 (key ends in 01, counter 1)",
        bytes(31) + b"\x01", bytes(12), 1, bytes(64),
        bytes.fromhex(
            "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a"
            "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0"
        ),
    ),
    (
        "RFC 8439 A.1 test vector 4 (key 00ff00…, counter 2)",
        b"\x00\xff" + bytes(30), bytes(12), 2, bytes(64),
        bytes.fromhex(
            "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca"
            "13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096"
        ),
    ),
    (
        "RFC 8439 A.1 test vector 5 (nonce ends in 02, counter 0)",
        bytes(32), bytes(11) + b"\x02", 0, bytes(64),
        bytes.fromhex(
            "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7"
            "8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d"
        ),
    ),
    (
        "RFC 8439 A.2 test vector 3 (counter 42)",
        bytes.fromhex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"),
        bytes(11) + b"\x02", 42, _JABBERWOCKY,
        bytes.fromhex(
            "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf"
            "166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb"
            "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77"
            "04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1"
        ),
    ),
)

#: Plaintexts of the data-message group: lengths around the 64-byte block boundary.
_MESSAGES: tuple[tuple[str, bytes], ...] = (
    ("empty message", b""),
    ("one byte", b"?"),
    ("a short UTF-8 message", "Hi Bob! Ünïcødé works. 👋".encode()),
    ("exactly one ChaCha20 block (64 bytes)", b"x" * 64),
    ("one block plus one byte (65 bytes)", b"y" * 65),
    ("message, NUL, and a padding TLV (type 0x0000, 16 bytes)",
     b"with TLVs\x00" + b"\x00\x00\x00\x10" + bytes(16)),
)


def chacha20_vectors() -> VectorFile:
    """The ``chacha20`` vector file."""
    rng = DeterministicRng(_LABEL)
    data_cases = []
    for comment, plaintext in _MESSAGES:
        mk_enc = rng.random_bytes(64)
        data_cases.append(TestCase(
            comment=comment,
            result="valid",
            flags=["InitialCounterZero"],
            inputs={"MKenc": mk_enc, "plaintext": plaintext},
            intermediates={
                "key": mk_enc[:32],
                "nonce": DATA_MESSAGE_NONCE,
                "initialCounter": DATA_MESSAGE_INITIAL_COUNTER,
                "keystreamBlock0": chacha20_xor(
                    mk_enc[:32], DATA_MESSAGE_NONCE, DATA_MESSAGE_INITIAL_COUNTER, bytes(64)
                ),
            },
            outputs={"encryptedMessage": encrypt_data_message(mk_enc, plaintext)},
        ))
    rfc_cases = []
    for comment, key, nonce, counter, plaintext, ciphertext in RFC8439_VECTORS:
        if chacha20_xor(key, nonce, counter, plaintext) != ciphertext:
            raise RuntimeError(f"ChaCha20 disagrees with {comment}")
        rfc_cases.append(TestCase(
            comment=comment,
            result="valid",
            flags=["Rfc8439"],
            inputs={"key": key, "nonce": nonce, "counter": counter, "plaintext": plaintext},
            outputs={"ciphertext": ciphertext},
        ))
    return VectorFile(
        algorithm="OTRv4 data message ChaCha20",
        header=[
            "Data-message encryption: ChaCha20 (RFC 8439 §2.4) with key = MKenc[0:32], a 12-byte",
            "zero nonce and initial block counter 0 (decision on ambiguity 4). Encryption and",
            "decryption are the same operation. MKenc is an arbitrary 64-byte input here.",
            "The RFC 8439 group checks the cipher: counter is the 32-bit block counter,",
            "nonce the 96-bit nonce.",
        ],
        notes={
            "InitialCounterZero": "The keystream starts at block 0 (ambiguity 4).",
            "Rfc8439": "A test vector copied from RFC 8439.",
        },
        groups=[
            TestGroup(type="DataMessageEncryption", tests=data_cases,
                      comment="Chacha20_Enc(MKenc, nonce = 0, m) of a data message"),
            TestGroup(type="ChaCha20", tests=rfc_cases, comment="RFC 8439 test vectors"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"chacha20": chacha20_vectors}
