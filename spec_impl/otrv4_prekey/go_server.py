"""What the 2019 Go prekey server does differently (decision 106).

The only other implementation of otrv4-prekey-server.md is the Go prekey
server of 2019 (``otrng-prekey-server``).  A reviewer ran a client that
follows the specification, as this package does, against the live Go server;
the six departures measured there are recorded in decision 106, registered
here.  This implementation does not adopt them: it follows the specification
as decisions 7 and 101 to 105 read it.  The decisions on the ring signature
(7), the proofs (102), the server's fingerprint (104) and ``ECDH(a, B)``
(105) refer to this record for the Go server.
"""

from __future__ import annotations

from typing import Final

from otrv4.decisions import Decision, register

__all__ = ["DECISION_GO_PREKEY_SERVER"]

DECISION_GO_PREKEY_SERVER: Final = register(Decision(
    number=106,
    title="Prekey server: what the 2019 Go prekey server does differently",
    question=(
        "The 2019 Go prekey server (otrng-prekey-server), the only other implementation of "
        "otrv4-prekey-server.md, departs from the specification's text in places. Does this "
        "implementation follow it there?"
    ),
    decision=(
        "No: this implementation follows the specification (decisions 7 and 101 to 105). "
        "Measured facts about the Go server, each confirmed by a reviewer's run of a client "
        "that follows the specification against the live Go server, which fails without the "
        "change and passes with it: "
        "(W1) it encodes SCALAR values in RING-SIG and PROOF-ECDH as 56 bytes, so its RING-SIG "
        "is 336 bytes, not 342; "
        "(R1) its ring-signature challenge is SHAKE-256(\"OTR-Prekey-Server\" || 0x11 || G || "
        "q || A1..A3 || T1..T3 || t, 64) with q as 56 bytes big-endian, read little-endian "
        "mod q (usage 0x11, not 0x1C); "
        "(R2) it puts r_i / 4 on the wire (libgoldilocks' scalar convention) and expects the "
        "same; "
        "(E1) its ECDH for the shared key is (i * S) / 4; "
        "(P1) its proof value v is v / 4; "
        "(L1) it writes L in the Prekey Ensemble Retrieval message as one byte, not an INT. "
        "With these six points a client that follows the specification completes the DAKE, "
        "storage status, publication (the Go server verifies the proofs) and retrieval "
        "against it; the server fingerprint, the order of phi, the publication MAC and the "
        "profile encodings already agree."
    ),
    reason=(
        "These are departures from the specification's text, not readings of an ambiguity, "
        "in an implementation unmaintained since 2019; adopting them would make this one "
        "disagree with every implementation that follows the text. Listing them lets a "
        "client that must talk to a deployed Go server add exactly these six changes."
    ),
    others=(
        "This record is the Go prekey server's; where this implementation's other decisions "
        "mention it (7, 101 to 105) they agree with these facts."
    ),
    vector="prekey-server-dake",
))
