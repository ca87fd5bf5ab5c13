"""Hot reload: a saved file makes the next invoke run the new code, in Docker and in local
processes, with no restart, and no invoke fails because of a reload."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client

pytestmark = pytest.mark.parametrize("executor", ["docker", "process"])

NAME = "hot"


def handler(result: str, extra: str = "") -> str:
    return f"{extra}def {NAME}_handler(event, context):\n    return {result!r}\n"


@pytest.fixture
def start(executor, make_server, tmp_path, request):
    """``start(**settings)``: a control plane serving ``tmp_path/functions`` (with the function
    ``hot`` returning "v1"); returns (endpoint, lambda client, the functions folder)."""
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    functions = tmp_path / "functions"
    (functions / NAME).mkdir(parents=True)
    (functions / NAME / f"{NAME}.py").write_text(handler("v1"))

    def run(**settings):
        endpoint = make_server(functions, executor, seed_on_start=False, **settings)
        return endpoint, lambda_client(endpoint), functions

    return run


def invoke(client, name: str = NAME, payload: dict | None = None) -> tuple[object, str | None]:
    """The result (decoded JSON) and the FunctionError, if any."""
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}))
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def wait_for_result(client, expected, name: str = NAME, timeout: float = 15) -> list:
    """Invoke until the result is ``expected``; every result seen on the way."""
    seen: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result, error = invoke(client, name)
        except client.exceptions.ResourceNotFoundException:  # a new function, not there yet
            time.sleep(0.02)
            continue
        seen.append(result if error is None else {"FunctionError": error, **result})
        if error is None and result == expected:
            return seen
    raise AssertionError(f"{name} did not return {expected!r} within {timeout} s; saw {seen[-3:]}")


def health(endpoint: str) -> dict:
    return json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/health", timeout=10).read())["lambda"]


def reloads(endpoint: str, name: str = NAME) -> int:
    return health(endpoint)["hot_reload"]["reloads"].get(name, 0)


def wait_for_reloads(endpoint: str, count: int, name: str = NAME, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while reloads(endpoint, name) < count:
        assert time.monotonic() < deadline, f"{name} was not reloaded {count} time(s) within {timeout} s"
        time.sleep(0.02)


def settle(seconds: float = 0.5) -> None:
    """Give a reload that should not happen time to happen (for asserting it does not)."""
    time.sleep(seconds)


class InvokeStream:
    """Invokes ``hot`` without pause in a thread, counting results and failures."""

    def __init__(self, client) -> None:
        self.client = client
        self.results: list = []
        self.failures: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result, error = invoke(self.client)
            except Exception as exc:  # noqa: BLE001 - counted as a failure
                self.failures.append(repr(exc))
                continue
            (self.failures if error else self.results).append(result)

    def __enter__(self) -> InvokeStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def test_a_saved_handler_runs_on_the_next_invoke(start):
    endpoint, client, functions = start()
    before = client.get_function(FunctionName=NAME)["Configuration"]
    assert invoke(client) == ("v1", None)
    (functions / NAME / f"{NAME}.py").write_text(handler("v2"))
    wait_for_result(client, "v2")
    after = client.get_function(FunctionName=NAME)["Configuration"]
    assert after["RevisionId"] != before["RevisionId"]
    assert after["CodeSha256"] != before["CodeSha256"]
    assert reloads(endpoint) == 1
    # the same length, saved within the same second: no stale bytecode
    (functions / NAME / f"{NAME}.py").write_text(handler("v3"))
    wait_for_result(client, "v3")


def test_two_step_saves_fail_no_invoke_and_reload_once(start):
    endpoint, client, functions = start()
    path = functions / NAME / f"{NAME}.py"
    invoke(client)
    with InvokeStream(client) as stream:
        # an editor that truncates the file, then writes it
        with open(path, "w") as file:
            file.flush()
            time.sleep(0.02)  # the editor's gap between its two writes
            file.write(handler("truncated-then-written"))
        wait_for_reloads(endpoint, 1)
        wait_for_result(client, "truncated-then-written")
        # an editor that writes a temporary file and renames it over the old one
        temporary = path.with_name(f".{NAME}.py.tmp")
        temporary.write_text(handler("renamed"))
        os.replace(temporary, path)
        wait_for_reloads(endpoint, 2)
        wait_for_result(client, "renamed")
        settle()
    assert stream.failures == []
    assert "renamed" in stream.results
    assert reloads(endpoint) == 2


def test_several_files_saved_at_once_make_one_reload(start):
    endpoint, client, functions = start()
    folder = functions / NAME
    invoke(client)
    (folder / "helper.py").write_text("WORD = 'together'\n")
    (folder / f"{NAME}.py").write_text("from helper import WORD\n" + handler("placeholder").replace(
        "return 'placeholder'", "return WORD + ' ' + __import__('os').environ['MOOD']"))
    (folder / "function.json").write_text(json.dumps({"Environment": {"Variables": {"MOOD": "saved"}}}))
    wait_for_result(client, "together saved")
    settle()
    assert reloads(endpoint) == 1
    # editor scratch files are not saves
    (folder / f".{NAME}.py.swp").write_text("vim swap")
    (folder / f"{NAME}.py~").write_text("backup")
    settle()
    assert reloads(endpoint) == 1


def test_a_syntax_error_fails_the_next_invoke_and_the_next_good_save_recovers(start):
    _, client, functions = start()
    path = functions / NAME / f"{NAME}.py"
    invoke(client)
    path.write_text(f"def {NAME}_handler(event, context)\n    return 'no colon'\n")
    deadline = time.monotonic() + 15
    while True:
        result, error = invoke(client)
        if error is not None or time.monotonic() > deadline:
            break
    assert error == "Unhandled"
    assert result["errorType"] == "Runtime.UserCodeSyntaxError"
    assert f"{NAME}.py" in result["errorMessage"]
    path.write_text(handler("fixed"))
    wait_for_result(client, "fixed")


def test_a_bad_function_json_keeps_the_last_good_function_until_fixed(start):
    endpoint, client, functions = start()
    config = functions / NAME / "function.json"
    invoke(client)
    config.write_text('{"Timeout": 3,')
    deadline = time.monotonic() + 15
    while NAME not in health(endpoint)["config_errors"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "not valid JSON" in health(endpoint)["config_errors"][NAME]
    assert invoke(client) == ("v1", None)
    config.write_text(json.dumps({"Timeout": 7}))
    while client.get_function(FunctionName=NAME)["Configuration"]["Timeout"] != 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get_function(FunctionName=NAME)["Configuration"]["Timeout"] == 7
    assert NAME not in health(endpoint)["config_errors"]
    assert invoke(client) == ("v1", None)


def test_a_new_folder_is_a_new_function_and_a_removed_one_is_gone(start):
    _, client, functions = start()
    folder = functions / "fresh"
    folder.mkdir()
    (folder / "fresh.py").write_text("def fresh_handler(event, context):\n    return 'new here'\n")
    wait_for_result(client, "new here", name="fresh")
    shutil.rmtree(folder)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            invoke(client, "fresh")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            break
    else:
        raise AssertionError("fresh still exists after its folder was removed")
    assert "fresh" not in [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert invoke(client) == ("v1", None)


def test_an_invoke_in_flight_finishes_on_the_old_code(start):
    endpoint, client, functions = start()
    path = functions / NAME / f"{NAME}.py"
    path.write_text(f"import time\ndef {NAME}_handler(event, context):\n    time.sleep(event.get('nap', 0))\n"
                    "    return 'old'\n")
    wait_for_result(client, "old")
    outcome: dict = {}
    slow = threading.Thread(target=lambda: outcome.update(result=invoke(client, payload={"nap": 2})))
    slow.start()
    deadline = time.monotonic() + 15
    while not any(e["request_id"] for e in _environments(endpoint)) and time.monotonic() < deadline:
        time.sleep(0.02)
    path.write_text(handler("new"))
    wait_for_result(client, "new")
    slow.join(30)
    assert outcome["result"] == ("old", None)


def _environments(endpoint: str) -> list[dict]:
    return json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/environments", timeout=10).read())


def test_the_polling_fallback_reloads_too(start):
    endpoint, client, functions = start(watch="poll")
    assert health(endpoint)["hot_reload"]["mode"] == "poll"
    invoke(client)
    (functions / NAME / f"{NAME}.py").write_text(handler("polled"))
    wait_for_result(client, "polled")


def test_a_function_from_the_hot_reload_bucket_reloads(start, tmp_path):
    endpoint, client, _ = start()
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "app.py").write_text("def main(event, context):\n    return 'from the folder'\n")
    tag = f"hr{os.getpid()}{time.monotonic_ns() % 10**6}"
    created = client.create_function(FunctionName=tag, Runtime="python3.11", Handler="app.main", Role="r",
                                     Code={"S3Bucket": "hot-reload", "S3Key": str(folder)})
    assert created["CodeSha256"]
    wait_for_result(client, "from the folder", name=tag)
    (folder / "app.py").write_text("def main(event, context):\n    return 'saved again'\n")
    wait_for_result(client, "saved again", name=tag)
    client.delete_function(FunctionName=tag)
    assert (folder / "app.py").exists()  # the user's folder is theirs
    for key, reason in [("relative/folder", "absolute"), (str(tmp_path / "missing"), "not a folder")]:
        with pytest.raises(ClientError) as caught:
            client.create_function(FunctionName=tag, Runtime="python3.11", Handler="app.main", Role="r",
                                   Code={"S3Bucket": "hot-reload", "S3Key": key})
        assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert reason in caught.value.response["Error"]["Message"]


def test_editing_a_layer_reloads_the_functions_that_use_it(start):
    endpoint, client, functions = start()
    layer = functions.parent / "layers" / "common" / "python"
    layer.mkdir(parents=True)
    (layer / "shared.py").write_text("WORD = 'layered'\n")
    (functions / NAME / "function.json").write_text(json.dumps({"Layers": ["common"]}))
    (functions / NAME / f"{NAME}.py").write_text(
        f"import shared\ndef {NAME}_handler(event, context):\n    return shared.WORD\n")
    wait_for_result(client, "layered")
    count = reloads(endpoint)
    (layer / "shared.py").write_text("WORD = 'edited layer'\n")
    wait_for_result(client, "edited layer")
    assert reloads(endpoint) == count + 1
