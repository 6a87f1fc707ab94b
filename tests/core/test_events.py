"""The event views: one decoder for every event, and what each trigger's view reads from it."""
from __future__ import annotations

import json

import pytest

from shared.errors import InvalidInput, RolegateError
from shared.events.actiontrail import load_events
from shared.events.http import HttpRequest, is_http_event
from shared.events.payload import MAX_EVENT_BYTES, decode_event
from shared.events.timer import TimerPayload, timer_payload


def test_events_decode_to_json_data() -> None:
    """Bytes and text are parsed (blank is None), data passes through; what cannot be read is refused."""
    assert decode_event(b'{"a": 1}') == {"a": 1} and decode_event('[1]') == [1]
    assert decode_event(b"") is None and decode_event("  ") is None
    assert decode_event({"already": "data"}) == {"already": "data"}
    assert decode_event(b"1" * 5000) == float("inf")  # too long for int(): refused later by its field
    for bad in (b"not json", b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(InvalidInput):
            decode_event(bad)
    with pytest.raises(RolegateError) as info:
        decode_event(b" " * (MAX_EVENT_BYTES + 1))
    assert info.value.status == 413


def test_every_view_refuses_an_unreadable_event_as_the_decoder_does() -> None:
    """The HTTP, timer and ActionTrail views refuse unreadable bytes alike, naming the field that held them."""
    for read in (HttpRequest.from_event, timer_payload, load_events):
        with pytest.raises(InvalidInput) as info:
            read(b"\xff not json")
        assert (info.value.field, info.value.message) == ("event", "The event is not UTF-8 text.")
    with pytest.raises(InvalidInput) as info:
        timer_payload(json.dumps({"triggerName": "t", "payload": "{dry_run: true}"}))
    assert (info.value.field, info.value.message) == ("payload", "The payload is not JSON.")


def test_the_timer_view_says_where_it_read_what_was_asked() -> None:
    """A timer trigger's payload is decoded a second time; an event that is not a timer's is read as it is."""
    trigger = {"triggerTime": "2026-01-01T00:00:00Z", "triggerName": "revoke-timer", "payload": '{"dry_run": true}'}
    assert timer_payload(json.dumps(trigger)) == TimerPayload({"dry_run": True}, "payload")
    assert timer_payload({**trigger, "payload": ""}) == TimerPayload(None, "payload")
    assert timer_payload(b'{"dry_run": true}') == TimerPayload({"dry_run": True}, "event")
    assert timer_payload(b"") == TimerPayload(None, "event")


def test_an_http_trigger_event_is_told_from_a_direct_invocation() -> None:
    """Only ``requestContext.http`` as an object makes an event the HTTP trigger's."""
    assert is_http_event({"requestContext": {"http": {"method": "POST", "path": "/"}}})
    for data in ({"targets": []}, {"requestContext": {"http": "POST"}}, {"requestContext": []}, [1], None):
        assert not is_http_event(data)
