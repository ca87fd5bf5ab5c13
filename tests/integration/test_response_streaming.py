"""Response streaming, end to end: boto3's ``invoke_with_response_stream`` against a real control
plane, with a custom runtime (``tests/streaming_functions/streamer/bootstrap``, provided.al2023)
that streams its response chunk by chunk through the Runtime API, in both executors."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from emulator.testing.pytest_plugin import client as plugin_client
from tests.conftest import lambda_client

FUNCTIONS = Path(__file__).resolve().parent.parent / "streaming_functions"


@pytest.fixture(scope="module", params=["docker", "process"])
def lam(request, cloudmicro_server):
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    return lambda_client(cloudmicro_server(executor=request.param, functions_dir=FUNCTIONS, seed_on_start=False))


def read_stream(response) -> tuple[list[tuple[float, bytes]], dict, float]:
    """The PayloadChunks (epoch arrival time, bytes), the InvokeComplete event (which must come
    last) and the epoch time it came."""
    chunks: list[tuple[float, bytes]] = []
    complete = None
    for event in response["EventStream"]:
        now = time.time()
        assert complete is None, f"an event after InvokeComplete: {event}"
        if "PayloadChunk" in event:
            chunks.append((now, event["PayloadChunk"]["Payload"]))
        else:
            complete = event["InvokeComplete"]
            ended = now
    assert complete is not None, "no InvokeComplete"
    return chunks, complete, ended


def lines(chunks: list[tuple[float, bytes]]) -> list[dict]:
    body = b"".join(data for _, data in chunks)
    assert body.endswith(b"\n"), body
    return [json.loads(line) for line in body.splitlines()]


def test_chunks_arrive_as_the_function_writes_them(lam):
    lam.invoke(FunctionName="streamer", Payload=b'{"chunks": 1}')  # warm: the cold start is not the subject
    started = time.time()
    response = lam.invoke_with_response_stream(FunctionName="streamer", Payload=json.dumps({"chunks": 5}),
                                               LogType="Tail")
    chunks, complete, ended = read_stream(response)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert [line["i"] for line in lines(chunks)] == [0, 1, 2, 3, 4]  # in order, whole
    assert len(chunks) >= 5  # one event per write (200 ms apart: never merged)
    first_arrival = chunks[0][0]
    assert first_arrival < ended - 0.5, (first_arrival - started, ended - started)
    ttfb_ms = (first_arrival - lines(chunks)[0]["t"]) * 1000
    print(f"\nstreamed 5 chunks: first after {(first_arrival - started) * 1000:.1f} ms, all after "
          f"{(ended - started) * 1000:.1f} ms; write -> arrival of the first: {ttfb_ms:.1f} ms")
    assert ttfb_ms < 200
    assert "ErrorCode" not in complete
    assert complete.get("LogResult")
    assert "END RequestId:" in base64.b64decode(complete["LogResult"]).decode()


def test_a_function_that_fails_mid_stream_ends_with_its_error(lam):
    response = lam.invoke_with_response_stream(FunctionName="streamer", Payload=json.dumps(
        {"chunks": 5, "interval": 0.05, "fail_after": 2}))
    chunks, complete, _ = read_stream(response)
    assert [line["i"] for line in lines(chunks)] == [0, 1]
    assert complete["ErrorCode"] == "StreamFailure"
    assert complete["ErrorDetails"] == "failed mid-stream"
    assert "LogResult" not in complete  # only with Tail


def test_a_buffered_python_function_gets_one_chunk(lam):
    response = lam.invoke_with_response_stream(FunctionName="pyresult", Payload=b'{"n": 7}')
    chunks, complete, _ = read_stream(response)
    assert len(chunks) == 1
    assert json.loads(chunks[0][1]) == {"echo": {"n": 7}, "streamed": False}
    assert "ErrorCode" not in complete


def test_a_custom_runtime_answering_buffered_gets_one_chunk(lam):
    chunks, complete, _ = read_stream(lam.invoke_with_response_stream(FunctionName="streamer",
                                                                      Payload=b'{"buffered": true}'))
    assert [json.loads(data) for _, data in chunks] == [{"buffered": True}]
    assert "ErrorCode" not in complete


def test_the_time_limit_holds_while_streaming(lam):
    started = time.monotonic()
    response = lam.invoke_with_response_stream(FunctionName="streamer", Payload=b'{"hang": true}')
    chunks, complete, _ = read_stream(response)
    took = time.monotonic() - started
    assert [line["i"] for line in lines(chunks)] == [0]
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in complete["ErrorDetails"]
    assert 3 <= took < 6, took


def test_a_plain_invoke_of_a_streaming_function_gets_the_whole_body(lam):
    response = lam.invoke(FunctionName="streamer", Payload=json.dumps({"chunks": 4, "interval": 0.01}))
    body = response["Payload"].read()
    assert "FunctionError" not in response, body
    assert [json.loads(line)["i"] for line in body.splitlines()] == [0, 1, 2, 3]
    failed = lam.invoke(FunctionName="streamer", Payload=json.dumps({"chunks": 3, "interval": 0.01, "fail_after": 1}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) == {"errorType": "StreamFailure", "errorMessage": "failed mid-stream"}


def test_errors_before_the_function_runs_are_http_errors(lam):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        lam.invoke_with_response_stream(FunctionName="nosuchfunction", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("how", ["error_as_headers", "drop_then_error"])
def test_other_ways_a_runtime_reports_a_stream_error(lam, how):
    """Besides AWS's trailers: the two names as headers before the body, or an /error after the
    runtime dropped its partial stream."""
    event = {"chunks": 3, "interval": 0.05, how: 2} if how == "drop_then_error" else {"chunks": 2, how: True}
    chunks, complete, _ = read_stream(lam.invoke_with_response_stream(FunctionName="streamer",
                                                                      Payload=json.dumps(event)))
    assert [line["i"] for line in lines(chunks)] == [0, 1]
    assert complete["ErrorCode"] == "StreamFailure"
    assert complete["ErrorDetails"] == "failed mid-stream"


def test_a_plain_invoke_gathers_a_streamed_response_up_to_the_buffered_limit(lam):
    response = lam.invoke(FunctionName="streamer", Payload=json.dumps({"chunks": 7, "interval": 0, "pad": 1 << 20}))
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "(6291556 bytes)" in error["errorMessage"]


def test_twenty_megabytes_stream_whole(lam):
    response = lam.invoke_with_response_stream(FunctionName="streamer", Payload=json.dumps(
        {"chunks": 20, "interval": 0, "pad": 1 << 20}))
    chunks, complete, _ = read_stream(response)
    assert [line["i"] for line in lines(chunks)] == list(range(20))
    assert sum(len(data) for _, data in chunks) > 20 << 20
    assert "ErrorCode" not in complete


def test_a_reader_that_leaves_does_not_stall_the_function(lam):
    response = lam.invoke_with_response_stream(FunctionName="streamer", Payload=json.dumps(
        {"chunks": 40, "interval": 0, "pad": 1 << 20}))  # 40 MB: far more than is buffered for a reader
    request_id = response["ResponseMetadata"]["RequestId"]
    events = iter(response["EventStream"])
    assert "PayloadChunk" in next(events)
    response["EventStream"].close()
    logs = plugin_client(lam.meta.endpoint_url, "logs")
    report = None
    deadline = time.monotonic() + 2.5  # the function's limit is 3 s: it ends well before, unread
    while report is None and time.monotonic() < deadline:
        try:
            found = logs.filter_log_events(logGroupName="/aws/lambda/streamer")["events"]
        except logs.exceptions.ResourceNotFoundException:  # the log group comes with the first lines
            found = []
        report = next((e["message"] for e in found if e["message"].startswith(f"REPORT RequestId: {request_id}")), None)
        time.sleep(0.1)
    assert report is not None, "the abandoned invocation did not end"
    assert "Status: timeout" not in report
    chunks, complete, _ = read_stream(lam.invoke_with_response_stream(FunctionName="streamer", Payload=b'{"chunks": 2}'))
    assert [line["i"] for line in lines(chunks)] == [0, 1]
    assert "ErrorCode" not in complete


def _url_path(lam, name: str) -> str:
    """The path form of ``name``'s RESPONSE_STREAM function URL (made once)."""
    try:
        url = lam.get_function_url_config(FunctionName=name)["FunctionUrl"]
    except lam.exceptions.ResourceNotFoundException:
        url = lam.create_function_url_config(FunctionName=name, AuthType="NONE",
                                             InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    url_id = url.split("//", 1)[1].split(".", 1)[0]
    return f"{lam.meta.endpoint_url}/_aws/lambda-url/{url_id}"


def _read_chunked(url: str) -> tuple[int, dict[str, list[str]], list[tuple[float, bytes]], float]:
    """GET ``url`` and read its chunked body as it arrives: status, headers, (arrival, bytes)."""
    import http.client
    import urllib.parse

    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    started = time.time()
    connection.request("GET", parsed.path + ("?" + parsed.query if parsed.query else ""))
    reply = connection.getresponse()
    headers: dict[str, list[str]] = {}
    for name, value in reply.getheaders():
        headers.setdefault(name.lower(), []).append(value)
    chunks = []
    while True:
        data = reply.read1(65536)
        if not data:
            break
        chunks.append((time.time(), data))
    connection.close()
    return reply.status, headers, chunks, started


def test_a_response_stream_function_url_sends_each_chunk_as_it_is_written(lam):
    status, headers, chunks, started = _read_chunked(_url_path(lam, "streamer") + "/?chunks=4&interval=0.3")
    assert status == 200 and headers["transfer-encoding"] == ["chunked"]
    assert headers["content-type"] == ["application/x-ndjson"]
    written = lines(chunks)
    assert [line["i"] for line in written] == [0, 1, 2, 3]
    first_arrival, last_arrival = chunks[0][0], chunks[-1][0]
    assert first_arrival < last_arrival - 0.5, "the first chunk came with the last: not streamed"
    print(f"\nfunction URL stream: first chunk after {(first_arrival - started) * 1000:.1f} ms, "
          f"the function wrote it {(first_arrival - written[0]['t']) * 1000:.1f} ms before it arrived")


def test_a_streamed_http_prelude_sets_status_headers_and_cookies(lam):
    status, headers, chunks, _ = _read_chunked(_url_path(lam, "streamer") + "/?prelude=1&chunks=2&interval=0.1")
    assert status == 201
    assert headers["content-type"] == ["text/plain"] and headers["x-streamed"] == ["yes"]
    assert headers["set-cookie"] == ["flavour=chunky"]
    assert [line["i"] for line in lines(chunks)] == [0, 1]  # the prelude and its NULs are not in the body
