"""AWS's event stream encoding (``application/vnd.amazon.eventstream``), the body of
InvokeWithResponseStream's answer: pure code, standard library only.

A message is a prelude (total length, headers length: big-endian uint32s), the prelude's CRC32,
the headers, the payload, and the CRC32 of everything before it. A header is its name's length
(uint8), the name, a value type (7: string) and, for a string, its length (uint16) and bytes.

https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html (the same framing)
https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html
"""

from __future__ import annotations

import json
import struct
import zlib

_STRING = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
#: prelude (8) + its CRC (4) + the message CRC (4)
_FRAMING = 16


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message with string ``headers`` and ``payload``."""
    encoded = bytearray()
    for name, value in headers.items():
        key, data = name.encode(), value.encode()
        encoded += bytes((len(key),)) + key + bytes((_STRING,)) + struct.pack(">H", len(data)) + data
    prelude = _PRELUDE.pack(_FRAMING + len(encoded) + len(payload), len(encoded))
    message = prelude + _CRC.pack(zlib.crc32(prelude)) + encoded + payload
    return message + _CRC.pack(zlib.crc32(message))


def event(event_type: str, payload: bytes, content_type: str) -> bytes:
    """An event message (``:message-type: event``) of ``event_type``."""
    return encode_message(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload
    )


def payload_chunk(chunk: bytes) -> bytes:
    """InvokeWithResponseStream's ``PayloadChunk`` event: a piece of the function's response."""
    return event("PayloadChunk", chunk, "application/octet-stream")


def invoke_complete(error_code: str | None = None, error_details: str | None = None,
                    log_result: str | None = None) -> bytes:
    """InvokeWithResponseStream's last event, ``InvokeComplete`` (members that are None are left out)."""
    fields = {"ErrorCode": error_code, "ErrorDetails": error_details, "LogResult": log_result}
    body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
    return event("InvokeComplete", body, "application/json")
