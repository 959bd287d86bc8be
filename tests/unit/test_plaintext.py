"""Query messages, whitespace tags, error messages (spec §Query Messages, §Whitespace Tags)."""

from __future__ import annotations

import pytest

from otrv4.plaintext import (
    WHITESPACE_BASE,
    DuplicateQueryVersion,
    ErrorCode,
    ErrorMessage,
    InvalidQueryVersion,
    MessageKind,
    classify,
    encode_error,
    encode_query,
    find_whitespace_tag,
    parse_error,
    parse_query,
    whitespace_tag,
)


def test_query_messages() -> None:
    assert encode_query([4]) == "?OTRv4?"
    assert encode_query([3, 4], "Let's talk") == "?OTRv34? Let's talk"
    q = parse_query("?OTRv45x?")
    assert q is not None and q.versions == frozenset("45x") and q.offers_v4
    q = parse_query("hello ?OTRv3? there")
    assert q is not None and not q.offers_v4 and q.text == "hello  there"
    empty = parse_query("?OTRv?")
    assert empty is not None and empty.versions == frozenset()
    odd = parse_query("?OTRv?4?")
    assert odd is not None and not odd.offers_v4
    assert parse_query("no query here") is None
    assert parse_query("?OTRv4") is None
    with pytest.raises(DuplicateQueryVersion):
        parse_query("?OTRv44?")
    with pytest.raises(DuplicateQueryVersion):
        encode_query([4, 4])
    with pytest.raises(InvalidQueryVersion):
        encode_query(["?"])


def test_whitespace_tags() -> None:
    tag = whitespace_tag([4])
    assert tag == WHITESPACE_BASE + "\x20\x20\x09\x09\x20\x09\x20\x20"
    found = find_whitespace_tag("hi" + whitespace_tag([3, 4]) + " there" + tag)
    assert found is not None
    assert found.versions == frozenset({3, 4}) and found.offers_v4
    assert found.text == "hi there" + tag  # only the first tag counts
    v3 = find_whitespace_tag(whitespace_tag([3]))
    assert v3 is not None and not v3.offers_v4 and v3.text == ""
    assert find_whitespace_tag("plain") is None
    with pytest.raises(InvalidQueryVersion):
        whitespace_tag([2])
    with pytest.raises(InvalidQueryVersion):
        whitespace_tag([])


def test_error_messages() -> None:
    text = encode_error(ErrorCode.UNREADABLE_MESSAGE)
    assert text == "?OTR Error: ERROR_1: Unreadable message"
    assert parse_error(text) == ErrorMessage(ErrorCode.UNREADABLE_MESSAGE, "Unreadable message")
    assert parse_error("?OTR Error: ERROR_9: what") == ErrorMessage(None, "ERROR_9: what")
    assert parse_error("?OTR Error: boom") == ErrorMessage(None, "boom")
    assert parse_error("say ?OTR Error: ERROR_2: x") is None


def test_classification_order() -> None:
    assert classify("?OTR|1|2|3,1,2,?OTR:AAQD,") is MessageKind.FRAGMENT
    assert classify("?OTR:AAQD.") is MessageKind.ENCODED
    assert classify("?OTR Error: ERROR_1: x") is MessageKind.ERROR
    assert classify("hi ?OTRv4?") is MessageKind.QUERY
    assert classify("hi" + whitespace_tag([4])) is MessageKind.WHITESPACE_TAGGED
    assert classify("hi") is MessageKind.PLAINTEXT
