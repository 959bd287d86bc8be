"""What the person who submits the ProtoXEP fills in: ``xep/submission.toml``.

XEP-0001 wants a real author in the header, with an email address and a JID.
The project never invents one: the file ships with a placeholder author marked
``placeholder = true``, and the build warns while it is there.  The submitter
replaces it with their own name, email and JID, removes the marker, and sets
``notes_url`` to where the companion document (the implementation notes) is
published; by default the XEP links to the HTML file the build writes beside it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Author", "Submission", "SubmissionError", "load_submission"]

#: Where the XEP links to the companion document unless the submitter says otherwise:
#: the page the build writes beside the XEP's HTML.
DEFAULT_NOTES_URL = "otrv4-implementation-notes.html"
_REQUIRED = ("firstname", "surname", "email", "jid")


class SubmissionError(Exception):
    """``xep/submission.toml`` is unreadable or incomplete; the message names the field."""


@dataclass(frozen=True)
class Author:
    """One author of the header (XEP-0001: name, email and JID are required)."""

    firstname: str
    surname: str
    email: str
    jid: str
    uri: str = ""
    placeholder: bool = False


@dataclass(frozen=True)
class Submission:
    """The authors and where the companion document is published."""

    authors: tuple[Author, ...]
    notes_url: str
    path: Path

    def warnings(self) -> list[str]:
        """What the submitter still has to fill in."""
        if any(a.placeholder for a in self.authors):
            return [f"{self.path.name}: the author is still the placeholder; put the "
                    "submitting author's name, email and JID there and remove "
                    "'placeholder = true' before submitting the ProtoXEP"]
        return []


def load_submission(path: Path) -> Submission:
    """Read ``path``.  Raises :class:`SubmissionError` for a missing or malformed file, no
    author, or an author without one of the fields XEP-0001 requires."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SubmissionError(f"{path}: {exc}") from exc
    raw = data.get("author", [])
    if not isinstance(raw, list) or not raw:
        raise SubmissionError(f"{path}: at least one [[author]] is required")
    authors = []
    for i, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise SubmissionError(f"{path}: author {i} is not a table")
        missing = [k for k in _REQUIRED if not str(entry.get(k, "")).strip()]
        if missing:
            raise SubmissionError(f"{path}: author {i} has no {', '.join(missing)} "
                                  "(XEP-0001 requires a name, an email address and a JID)")
        authors.append(Author(str(entry["firstname"]), str(entry["surname"]),
                              str(entry["email"]), str(entry["jid"]),
                              uri=str(entry.get("uri", "")),
                              placeholder=bool(entry.get("placeholder", False))))
    notes_url = str(data.get("notes_url", DEFAULT_NOTES_URL))
    return Submission(tuple(authors), notes_url, path)
