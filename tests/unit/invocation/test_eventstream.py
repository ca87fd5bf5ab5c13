"""The event stream encoder, checked by the decoder boto3 reads InvokeWithResponseStream with
(botocore.eventstream: prelude and message CRCs, header types, lengths)."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import EventStreamBuffer

from emulator.invocation import eventstream


def decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_a_payload_chunk_decodes_with_its_headers_and_bytes():
    [message] = decode(eventstream.payload_chunk(b"\x00hello\xff"))
    assert message.headers == {":event-type": "PayloadChunk", ":content-type": "application/octet-stream",
                               ":message-type": "event"}
    assert message.payload == b"\x00hello\xff"


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 6 * 1024 * 1024])
def test_lengths_and_crcs_hold_at_any_size(size):
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    [message] = decode(eventstream.payload_chunk(payload))
    assert message.payload == payload


def test_messages_back_to_back_and_split_anywhere_decode_in_order():
    data = b"".join(eventstream.payload_chunk(f"chunk {i}".encode()) for i in range(5))
    data += eventstream.invoke_complete("Sandbox.Timedout", "Task timed out", "bG9n")
    buffer = EventStreamBuffer()
    messages = []
    for i in range(0, len(data), 7):  # as a socket would deliver it
        buffer.add_data(data[i:i + 7])
        messages.extend(buffer)
    assert [m.payload for m in messages[:5]] == [f"chunk {i}".encode() for i in range(5)]
    complete = messages[5]
    assert complete.headers[":event-type"] == "InvokeComplete"
    assert complete.headers[":content-type"] == "application/json"
    assert json.loads(complete.payload) == {"ErrorCode": "Sandbox.Timedout", "ErrorDetails": "Task timed out",
                                            "LogResult": "bG9n"}


def test_invoke_complete_leaves_out_what_is_none():
    [message] = decode(eventstream.invoke_complete())
    assert json.loads(message.payload) == {}


def test_non_ascii_header_values_are_measured_in_bytes():
    [message] = decode(eventstream.encode_message({"name": "välue ✓"}, b"p"))
    assert message.headers == {"name": "välue ✓"}


def test_boto3s_parser_reads_the_events_as_invoke_with_response_stream_events():
    """The whole way boto3 goes: the Lambda model's event stream shapes."""
    import botocore.session
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser

    model = botocore.session.get_session().get_service_model("lambda")
    shape = model.operation_model("InvokeWithResponseStream").output_shape.members["EventStream"]
    data = eventstream.payload_chunk(b"abc") + eventstream.invoke_complete("Unhandled", "boom")

    class Raw:
        def stream(self):
            yield data

    events = list(EventStream(Raw(), shape, EventStreamJSONParser(), "InvokeWithResponseStream"))
    assert events == [{"PayloadChunk": {"Payload": b"abc"}},
                      {"InvokeComplete": {"ErrorCode": "Unhandled", "ErrorDetails": "boom"}}]
