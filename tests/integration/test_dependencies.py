"""A function's requirements.txt and its layers, in Docker and in local processes.

Packages come from PyPI (``tabulate``, which neither the runtime image nor this environment
has) or, where the test must decide how long pip takes, from a wheel served by the test itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client

TABULATE = "tabulate==0.9.0\n"
OLD_TABULATE = "tabulate==0.8.10\n"
INSTALLING = "installing requirements.txt"

TAB_CODE = '''
import tabulate


def HANDLER(event, context):
    return {"version": tabulate.__version__, "file": tabulate.__file__,
            "table": tabulate.tabulate([["a", 1]], tablefmt="plain")}
'''

PLAIN_CODE = '''
def HANDLER(event, context):
    return {"plain": True}
'''

SLOW_CODE = '''
import slowmod


def HANDLER(event, context):
    return {"value": slowmod.VALUE}
'''

LAYERED_CODE = '''
import common_util
import only_first
import order
import shared


def HANDLER(event, context):
    return {"common": common_util.NAME, "shared": shared.WHO, "only_first": only_first.X,
            "order": order.WHERE}
'''


def _function(project: Path, name: str, code: str, requirements: str | None = None,
              config: dict[str, Any] | None = None) -> Path:
    folder = project / "functions" / name
    folder.mkdir(parents=True)
    (folder / f"{name}.py").write_text(code.replace("HANDLER", f"{name}_handler"))
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    if config is not None:
        (folder / "function.json").write_text(json.dumps(config))
    return folder


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _call(client, name: str) -> Any:
    response = client.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


def _installed(deps: Path) -> list[str]:
    return sorted(p.name for p in deps.iterdir() if p.is_dir() and not p.name.startswith("."))


# --- requirements.txt ------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_requirements_are_installed_once_then_served_from_the_cache(executor, tmp_path, make_server):
    project = tmp_path / "project"
    _function(project, "tab", TAB_CODE, TABULATE, {"Layers": ["fakes"]})
    _function(project, "tabtoo", TAB_CODE, TABULATE)  # the same content: the same install
    # a layer's module of the same name loses to the function's own packages, as on AWS
    _write(project / "layers" / "fakes" / "python" / "tabulate.py", '__version__ = "from-a-layer"\n')
    make_server.output.read()
    lam = lambda_client(make_server(project / "functions", executor))

    result = _call(lam, "tab")
    assert result["version"] == "0.9.0"
    assert result["table"] == "a  1"
    assert "/deps/" in result["file"]
    progress = make_server.output.read()
    assert progress.count(f"tab: {INSTALLING}") == 1
    assert "Successfully installed tabulate-0.9.0" in progress  # pip's own output, as it ran
    deps = tmp_path / "state" / "deps"
    installed = _installed(deps)
    assert len(installed) == 1
    stamp = (deps / installed[0]).stat().st_mtime_ns

    assert _call(lam, "tabtoo")["version"] == "0.9.0"
    # a control plane started again on the same state directory: the cache, not pip
    again = lambda_client(make_server(project / "functions", executor))
    started = time.monotonic()
    assert _call(again, "tab")["version"] == "0.9.0"
    cold_invoke = time.monotonic() - started
    assert INSTALLING not in make_server.output.read()
    assert _installed(deps) == installed
    assert (deps / installed[0]).stat().st_mtime_ns == stamp
    assert cold_invoke < 2.0, f"a cold start with cached requirements took {cold_invoke:.2f} s"


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_a_changed_requirements_txt_installs_again(executor, tmp_path, make_server):
    project = tmp_path / "project"
    folder = _function(project, "tab", TAB_CODE, TABULATE)
    lam = lambda_client(make_server(project / "functions", executor))
    assert _call(lam, "tab")["version"] == "0.9.0"
    make_server.output.read()

    before = lam.get_function(FunctionName="tab")["Configuration"]["RevisionId"]
    (folder / "requirements.txt").write_text(OLD_TABULATE)
    # saving the file alone makes a new revision: the very next invoke gets a new environment
    # with the packages of the saved file (warm environments kept the old ones)
    assert _call(lam, "tab")["version"] == "0.8.10"
    assert lam.get_function(FunctionName="tab")["Configuration"]["RevisionId"] != before
    assert f"tab: {INSTALLING}" in make_server.output.read()
    assert len(_installed(tmp_path / "state" / "deps")) == 2


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_a_missing_package_is_named_and_fixing_the_file_recovers(executor, tmp_path, make_server):
    missing = f"cloudmicro-missing-{uuid.uuid4().hex[:8]}"
    project = tmp_path / "project"
    folder = _function(project, "broken", TAB_CODE, f"{missing}==1.0\n")
    _function(project, "plain", PLAIN_CODE)
    lam = lambda_client(make_server(project / "functions", executor))

    with pytest.raises(ClientError) as failed:
        lam.invoke(FunctionName="broken", Payload=b"{}")
    response = failed.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert response["Error"]["Code"] == "ResourceConflictException"
    message = response["Error"]["Message"]
    assert f"No matching distribution found for {missing}==1.0" in message
    assert str(folder / "requirements.txt") in message
    assert "following state: Failed" in message
    assert _call(lam, "plain") == {"plain": True}  # the emulator goes on
    make_server.output.read()
    with pytest.raises(ClientError) as again:  # a retry is answered without running pip again
        lam.invoke(FunctionName="broken", Payload=b"{}")
    assert missing in again.value.response["Error"]["Message"]
    assert INSTALLING not in make_server.output.read()

    (folder / "requirements.txt").write_text(TABULATE)
    assert _call(lam, "broken")["version"] == "0.9.0"


# --- one install at a time ---------------------------------------------------------------


def _wheel(name: str, version: str, source: str) -> bytes:
    """A minimal pure-Python wheel, with a RECORD pip can check."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": source.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: cloudmicro-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for path, data in files.items()
    ) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


class GatedWheel:
    """Serves one wheel, holding every download back until :attr:`release` is set."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.release = threading.Event()
        self.requests = 0
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gate.requests += 1
                gate.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{filename}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gated_wheel():
    gate = GatedWheel("slowmod-1.0-py3-none-any.whl", _wheel("slowmod", "1.0", 'VALUE = "slow"\n'))
    yield gate
    gate.close()


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_one_install_per_content_and_other_functions_go_on(executor, tmp_path, make_server, gated_wheel):
    project = tmp_path / "project"
    requirements = f"slowmod @ {gated_wheel.url}\n"
    _function(project, "slow_a", SLOW_CODE, requirements)
    _function(project, "slow_b", SLOW_CODE, requirements)
    _function(project, "plain", PLAIN_CODE)
    make_server.output.read()
    lam = lambda_client(make_server(project / "functions", executor), timeout=120)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_call, lam, "slow_a")
        second = pool.submit(_call, lam, "slow_b")
        deadline = time.monotonic() + 60
        while gated_wheel.requests == 0:  # pip is downloading: the install is under way
            assert time.monotonic() < deadline, "pip never asked for the wheel"
            assert not first.done(), first.result()
            time.sleep(0.02)
        started = time.monotonic()
        assert _call(lam, "plain") == {"plain": True}
        assert time.monotonic() - started < 10
        assert not first.done() and not second.done()  # both wait for the one install
        gated_wheel.release.set()
        assert first.result(timeout=60) == {"value": "slow"}
        assert second.result(timeout=60) == {"value": "slow"}
    assert gated_wheel.requests == 1
    assert make_server.output.read().count(INSTALLING) == 1


# --- layers --------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_layers_are_merged_into_opt_in_order(executor, tmp_path, make_server):
    project = tmp_path / "project"
    layers = project / "layers"
    _write(layers / "common" / "python" / "common_util.py", 'NAME = "common"\n')
    _write(layers / "first" / "python" / "shared.py", 'WHO = "first"\n')
    _write(layers / "first" / "python" / "only_first.py", "X = 1\n")
    _write(layers / "second" / "python" / "shared.py", 'WHO = "second"\n')
    # AWS puts python/lib/python3.X/site-packages before python/ on sys.path
    version = "3.11" if executor == "docker" else f"{sys.version_info[0]}.{sys.version_info[1]}"
    _write(layers / "second" / "python" / "order.py", 'WHERE = "python"\n')
    _write(layers / "second" / "python" / "lib" / f"python{version}" / "site-packages" / "order.py",
           'WHERE = "site-packages"\n')
    # a bare name, a path relative to the project and an absolute path
    _function(project, "layered", LAYERED_CODE,
              config={"Layers": ["common", "layers/first", str(layers / "second")]})
    lam = lambda_client(make_server(project / "functions", executor))

    assert _call(lam, "layered") == {"common": "common", "shared": "second", "only_first": 1,
                                     "order": "site-packages"}
    shown = lam.get_function(FunctionName="layered")["Configuration"]["Layers"]
    assert [layer["Arn"] for layer in shown] == [
        f"arn:aws:lambda:us-east-1:123456789012:layer:{name}:1" for name in ("common", "first", "second")
    ]
    assert all(layer["CodeSize"] > 0 for layer in shown)

    # an edited layer is merged again for the function's next environments: the very next invoke
    _write(layers / "second" / "python" / "shared.py", 'WHO = "second, edited"\n')
    assert _call(lam, "layered")["shared"] == "second, edited"


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_create_function_takes_layer_arns_for_the_projects_layer_folders(executor, tmp_path, make_server):
    project = tmp_path / "project"
    _write(project / "layers" / "common" / "python" / "common_util.py", 'NAME = "common"\n')
    (project / "functions").mkdir(parents=True)
    lam = lambda_client(make_server(project / "functions", executor))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import common_util\n\ndef main(event, context):\n    return common_util.NAME\n")
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:common:3"
    lam.create_function(FunctionName="fromapi", Runtime="python3.11", Handler="app.main", Role="r",
                        Code={"ZipFile": buffer.getvalue()}, Layers=[arn])
    assert _call(lam, "fromapi") == "common"

    with pytest.raises(ClientError) as missing:
        lam.create_function(FunctionName="nolayer", Runtime="python3.11", Handler="app.main", Role="r",
                            Code={"ZipFile": buffer.getvalue()},
                            Layers=["arn:aws:lambda:us-east-1:123456789012:layer:absent:1"])
    assert missing.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "absent" in missing.value.response["Error"]["Message"]


def test_a_layer_that_is_not_a_folder_names_the_file(tmp_path, make_server):
    project = tmp_path / "project"
    folder = _function(project, "plain", PLAIN_CODE, config={"Layers": ["nope"]})
    lam = lambda_client(make_server(project / "functions", "process"))
    with pytest.raises(ClientError) as failed:
        lam.invoke(FunctionName="plain", Payload=b"{}")
    message = failed.value.response["Error"]["Message"]
    assert failed.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert str(folder / "function.json") in message and "layer 'nope' is not a folder" in message


LAYER_PACKAGES_CODE = '''
import tabulate
import table_words
import plain_words


def HANDLER(event, context):
    return {"tabulate": tabulate.__file__, "words": table_words.render(), "plain": plain_words.WORD}
'''


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_a_layers_requirements_are_installed_into_opt_python(executor, tmp_path, make_server):
    project = tmp_path / "project"
    # SAM's Python layer layout (BuildMethod: python3.x): the folder is the code, requirements.txt beside it
    _write(project / "layers" / "tables" / "requirements.txt", TABULATE)
    _write(project / "layers" / "tables" / "table_words.py",
           "import tabulate\n\ndef render():\n    return tabulate.tabulate([['a', 1]], tablefmt='plain')\n")
    _write(project / "layers" / "plain" / "python" / "plain_words.py", "WORD = 'plain'\n")  # AWS's zip layout
    _function(project, "tabled", LAYER_PACKAGES_CODE, config={"Layers": ["tables", "plain"]})
    lam = lambda_client(make_server(project / "functions", executor))
    body = _call(lam, "tabled")
    assert body["words"] == "a  1" and body["plain"] == "plain"
    assert "/python/tabulate" in body["tabulate"], body  # from /opt/python (the merged copy, for processes)
    assert _installed(tmp_path / "state" / "deps")  # installed through the dependency cache
