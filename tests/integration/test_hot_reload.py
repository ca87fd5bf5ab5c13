"""Hot reload: a saved file makes the very next invoke run the new code, in Docker and in local
processes, with no restart, and no invoke fails because of a reload.

Every test invokes right after writing, with no retry: the invoke itself must find the save
(whether its file event has arrived or not)."""

from __future__ import annotations

import base64
import json
import os
import py_compile
import shutil
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from emulator.testing.pytest_plugin import admin_request
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

    def run(functions_subdir: str | None = None, **settings):
        folder = functions if functions_subdir is None else tmp_path / functions_subdir
        endpoint = make_server(folder, executor, seed_on_start=False, **settings)
        return endpoint, lambda_client(endpoint), functions

    run.functions = functions  # type: ignore[attr-defined]
    return run


def invoke(client, name: str = NAME, payload: dict | None = None) -> tuple[object, str | None]:
    """The result (decoded JSON) and the FunctionError, if any."""
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}))
    return json.loads(response["Payload"].read()), response.get("FunctionError")


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
    """Give a reload that should not happen time to happen (for asserting it does not).

    A fixed wait on purpose: nothing the control plane shows says that the watcher has handled
    every file event so far (health's hot_reload has reloads, not events seen or debounces under
    way), so there is no probe to wait on; 0.5 s is ten times its 50 ms quiet period."""
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




def test_a_saved_handler_runs_on_the_very_next_invoke(start):
    endpoint, client, functions = start()
    path = functions / NAME / f"{NAME}.py"
    before = client.get_function(FunctionName=NAME)["Configuration"]
    assert invoke(client) == ("v1", None)
    path.write_text(handler("v2"))
    assert invoke(client) == ("v2", None)
    after = client.get_function(FunctionName=NAME)["Configuration"]
    assert after["RevisionId"] != before["RevisionId"]
    assert after["CodeSha256"] != before["CodeSha256"]
    assert reloads(endpoint) == 1
    # the same length, saved within the same second: no stale bytecode, no missed save
    for value in ("v3", "v4", "a much longer result than before", "v5"):
        path.write_text(handler(value))
        assert invoke(client) == (value, None)


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
        assert invoke(client) == ("truncated-then-written", None)
        # an editor that writes a temporary file and renames it over the old one
        temporary = path.with_name(f".{NAME}.py.tmp")
        temporary.write_text(handler("renamed"))
        os.replace(temporary, path)
        assert invoke(client) == ("renamed", None)
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
    assert invoke(client) == ("together saved", None)
    settle()
    assert reloads(endpoint) == 1
    # editor scratch files are not saves
    (folder / f".{NAME}.py.swp").write_text("vim swap")
    (folder / f"{NAME}.py~").write_text("backup")
    assert invoke(client) == ("together saved", None)
    settle()
    assert reloads(endpoint) == 1


def test_a_syntax_error_fails_the_next_invoke_and_the_next_good_save_recovers(start):
    _, client, functions = start()
    path = functions / NAME / f"{NAME}.py"
    assert invoke(client) == ("v1", None)
    for attempt in range(2):
        path.write_text(f"def {NAME}_handler(event, context)\n    return 'no colon {attempt}'\n")
        result, error = invoke(client)
        assert error == "Unhandled"
        assert result["errorType"] == "Runtime.UserCodeSyntaxError"
        assert f"{NAME}.py" in result["errorMessage"]
        path.write_text(handler(f"fixed {attempt}"))
        assert invoke(client) == (f"fixed {attempt}", None)


def test_a_bad_function_json_keeps_the_last_good_function_until_fixed(start):
    endpoint, client, functions = start()
    config = functions / NAME / "function.json"
    invoke(client)
    config.write_text('{"Timeout": 3,')
    assert invoke(client) == ("v1", None)
    assert "not valid JSON" in health(endpoint)["config_errors"][NAME]
    config.write_text(json.dumps({"Timeout": 7}))
    assert invoke(client) == ("v1", None)
    assert client.get_function(FunctionName=NAME)["Configuration"]["Timeout"] == 7
    assert NAME not in health(endpoint)["config_errors"]


def test_a_new_folder_is_a_new_function_and_a_removed_one_is_gone(start):
    _, client, functions = start()
    folder = functions / "fresh"
    folder.mkdir()
    (folder / "fresh.py").write_text("def fresh_handler(event, context):\n    return 'new here'\n")
    assert invoke(client, "fresh") == ("new here", None)
    shutil.rmtree(folder)
    with pytest.raises(ClientError) as gone:
        invoke(client, "fresh")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "fresh" not in [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert invoke(client) == ("v1", None)


def test_an_invoke_in_flight_finishes_on_the_old_code(start):
    endpoint, client, functions = start()
    path = functions / NAME / f"{NAME}.py"
    path.write_text(f"import time\ndef {NAME}_handler(event, context):\n    time.sleep(event.get('nap', 0))\n"
                    "    return 'old'\n")
    assert invoke(client) == ("old", None)
    outcome: dict = {}
    slow = threading.Thread(target=lambda: outcome.update(result=invoke(client, payload={"nap": 2})))
    slow.start()
    deadline = time.monotonic() + 15
    while not any(e["request_id"] for e in _environments(endpoint)) and time.monotonic() < deadline:
        time.sleep(0.02)
    path.write_text(handler("new"))
    assert invoke(client) == ("new", None)
    slow.join(30)
    assert outcome["result"] == ("old", None)


def _environments(endpoint: str) -> list[dict]:
    return json.loads(urllib.request.urlopen(admin_request(endpoint + "/_cloudmicro/environments"), timeout=10).read())


def test_the_polling_fallback_reloads_too(start):
    endpoint, client, functions = start(watch="poll")
    assert health(endpoint)["hot_reload"]["mode"] == "poll"
    invoke(client)
    for value in ("polled", "polled again"):
        (functions / NAME / f"{NAME}.py").write_text(handler(value))
        assert invoke(client) == (value, None)  # before the next poll has seen it


def test_a_function_from_the_hot_reload_bucket_reloads(start, tmp_path):
    endpoint, client, _ = start()
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "app.py").write_text("def main(event, context):\n    return 'from the folder'\n")
    tag = f"hr{os.getpid()}{time.monotonic_ns() % 10**6}"
    created = client.create_function(FunctionName=tag, Runtime="python3.11", Handler="app.main", Role="r",
                                     Code={"S3Bucket": "hot-reload", "S3Key": str(folder)})
    assert created["CodeSha256"]
    assert invoke(client, tag) == ("from the folder", None)
    (folder / "app.py").write_text("def main(event, context):\n    return 'saved again'\n")
    assert invoke(client, tag) == ("saved again", None)
    # a build tool that deletes the folder and makes it again: still reloads, event or not
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "app.py").write_text("def main(event, context):\n    return 'rebuilt'\n")
    assert invoke(client, tag) == ("rebuilt", None)
    wait_for_watching(endpoint, folder)
    count = reloads(endpoint, tag)
    (folder / "app.py").write_text("def main(event, context):\n    return 'seen by its event'\n")
    wait_for_reloads(endpoint, count + 1, tag)  # the file event alone, with no invoke to find it
    assert invoke(client, tag) == ("seen by its event", None)
    client.delete_function(FunctionName=tag)
    assert (folder / "app.py").exists()  # the user's folder is theirs
    for key, reason in [("relative/folder", "absolute"), (str(tmp_path / "missing"), "not a folder")]:
        with pytest.raises(ClientError) as caught:
            client.create_function(FunctionName=tag, Runtime="python3.11", Handler="app.main", Role="r",
                                   Code={"S3Bucket": "hot-reload", "S3Key": key})
        assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert reason in caught.value.response["Error"]["Message"]


def wait_for_watching(endpoint: str, folder, timeout: float = 15) -> None:
    """Until the control plane watches ``folder`` (again)."""
    deadline = time.monotonic() + timeout
    while str(folder.resolve()) not in health(endpoint)["hot_reload"]["watching"]:
        assert time.monotonic() < deadline, f"{folder} is not watched after {timeout} s"
        time.sleep(0.02)


def test_editing_a_layer_reloads_the_functions_that_use_it(start):
    endpoint, client, functions = start()
    layer = functions.parent / "layers" / "common" / "python"
    layer.mkdir(parents=True)
    (layer / "shared.py").write_text("WORD = 'layered'\n")
    (functions / NAME / "function.json").write_text(json.dumps({"Layers": ["common"]}))
    (functions / NAME / f"{NAME}.py").write_text(
        f"import shared\ndef {NAME}_handler(event, context):\n    return shared.WORD\n")
    assert invoke(client) == ("layered", None)
    count = reloads(endpoint)
    (layer / "shared.py").write_text("WORD = 'edited layer'\n")
    assert invoke(client) == ("edited layer", None)
    assert reloads(endpoint) == count + 1
    shutil.rmtree(layer.parent)  # the layer folder made again
    layer.mkdir(parents=True)
    (layer / "shared.py").write_text("WORD = 'layer made again'\n")
    assert invoke(client) == ("layer made again", None)
    wait_for_watching(endpoint, layer.parent)


def test_a_functions_folder_made_after_the_start_is_watched(start):
    endpoint, client, functions = start(functions_subdir="later")
    later = functions.parent / "later"
    assert not later.exists()
    (later / "made").mkdir(parents=True)
    (later / "made" / "made.py").write_text("def made_handler(event, context):\n    return 'made later'\n")
    assert invoke(client, "made") == ("made later", None)
    wait_for_watching(endpoint, later)
    count = reloads(endpoint, "made")
    (later / "made" / "made.py").write_text("def made_handler(event, context):\n    return 'and saved'\n")
    wait_for_reloads(endpoint, count + 1, "made")  # by its file event
    assert invoke(client, "made") == ("and saved", None)


class Gate:
    """An HTTP endpoint a function's init calls: the first call is held until :meth:`open`,
    so the test can change files while the runtime is starting."""

    def __init__(self) -> None:
        self.calls = 0
        self.reached = threading.Event()
        self.opened = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gate.calls += 1
                gate.reached.set()
                gate.opened.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def open(self) -> None:
        self.opened.set()

    def close(self) -> None:
        self.opened.set()
        self.server.shutdown()
        self.server.server_close()


HALF_SAVED = """import os
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "data.txt")) as file:
    DATA = file.read()
urllib.request.urlopen(os.environ["GATE"], timeout=30).read()
if DATA != "whole":  # as a runtime that imported a half-written module fails
    raise SyntaxError(f"read a half-saved file: {DATA!r}")


def NAME_handler(event, context):
    return DATA
""".replace("NAME", NAME)


def test_a_cold_start_that_read_a_half_saved_file_runs_again(start):
    _endpoint, client, functions = start()
    folder = functions / NAME
    assert invoke(client) == ("v1", None)
    gate = Gate()
    try:
        (folder / "function.json").write_text(json.dumps({"Environment": {"Variables": {"GATE": gate.url}}}))
        (folder / "data.txt").write_text("wh")  # the first half of a save
        (folder / f"{NAME}.py").write_text(HALF_SAVED)
        outcome: dict = {}
        caller = threading.Thread(target=lambda: outcome.update(result=invoke(client)))
        caller.start()
        assert gate.reached.wait(30), "the runtime never started"
        (folder / "data.txt").write_text("whole")  # the save completes after the runtime read the file
        gate.open()
        caller.join(60)
    finally:
        gate.close()
    assert outcome["result"] == ("whole", None)
    assert gate.calls == 2  # the invocation ran again, in a new environment


def test_stale_bytecode_in_the_folder_never_shadows_a_save(start):
    folder = start.functions / NAME
    helper = folder / "helper.py"
    helper.write_text("VALUE = 'old'\n")
    py_compile.compile(str(helper))  # host tooling (a test run, an IDE) left a .pyc behind
    info = helper.stat()
    helper.write_text("VALUE = 'new'\n")  # saved again within the same second, at the same size
    os.utime(helper, ns=(info.st_atime_ns, info.st_mtime_ns))
    (folder / f"{NAME}.py").write_text(f"import helper\ndef {NAME}_handler(event, context):\n"
                                       "    return helper.VALUE\n")
    _, client, _ = start()
    assert invoke(client) == ("new", None)


ENV_PROBE = '''import os
STARTED = os.environ.get("STARTED_BY", "")
os.environ["STARTED_BY"] = "an earlier start"  # a restart must not see this
def hot_handler(event, context):
    return {"version": VERSION, "stream": context.log_stream_name, "pid": os.getpid(),
            "started_by": STARTED, "stage": os.environ.get("STAGE")}
'''


def test_a_save_restarts_the_runtime_in_its_environment_and_a_new_setting_gets_a_new_one(start):
    """Only the code changed: the runtime starts afresh in the same container or process (a
    cold start with Init Duration, the environment it started with, no container start). A
    changed setting (here a variable) needs a new environment."""
    folder = start.functions / NAME
    (folder / f"{NAME}.py").write_text(ENV_PROBE.replace("VERSION", "1"))
    endpoint, client, _ = start()
    first, _ = invoke(client)
    (folder / f"{NAME}.py").write_text(ENV_PROBE.replace("VERSION", "2"))
    response = client.invoke(FunctionName=NAME, Payload=b"{}", LogType="Tail")
    second = json.loads(response["Payload"].read())
    assert second["version"] == 2 and "FunctionError" not in response
    assert second["stream"] == first["stream"] and second["pid"] == first["pid"]  # the same environment ...
    assert second["started_by"] == ""  # ... started afresh, with the variables it was made with
    assert "Init Duration: " in base64.b64decode(response["LogResult"]).decode()
    assert health(endpoint)["environments"] == 1

    (folder / "function.json").write_text(json.dumps({"Environment": {"Variables": {"STAGE": "two"}}}))
    third, _ = invoke(client)
    assert third["stage"] == "two" and third["stream"] != first["stream"]  # a new environment
