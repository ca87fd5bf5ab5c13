"""The process executor runs a function on the ``python3.X`` its Runtime names when PATH has it
(and it runs), else on the control plane's own Python with one warning per runtime.

The "python3.12" here is a shell script on a PATH the test builds: it writes its arguments to a
marker file, exports a variable, then runs this interpreter. So the test sees which interpreter
ran the runtime and pip, without needing another Python installed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from tests.conftest import lambda_client
from tests.integration.test_dependencies import _wheel

WRAPPER = """#!/bin/sh
printf '%s\\n' "$*" >> {marker}
export WRAPPED_BY=python3.12
exec {python} "$@"
"""

CODE = '''
import os
import sys


def handler(event, context):
    try:
        import tinypkg
        package = [tinypkg.WHO, tinypkg.__file__]
    except ImportError:
        package = None
    return {"path0": os.environ["PATH"].split(os.pathsep)[0], "wrapped": os.environ.get("WRAPPED_BY"),
            "executable": sys.executable, "package": package}
'''

#: what a pyenv shim of a version that is installed but not selected does
SHIM = """#!/bin/sh
echo "pyenv: python3.10: command not found" >&2
exit 127
"""

WARNING = "python3.13 is not on PATH: functions with Runtime python3.13 run on this Python"


def _function(functions: Path, name: str, runtime: str, requirements: str | None = None) -> None:
    folder = functions / name
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(CODE)
    (folder / "function.json").write_text(json.dumps({"Handler": "app.handler", "Runtime": runtime, "Timeout": 30}))
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)


def _call(client: Any, name: str) -> Any:
    response = client.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


def test_a_function_runs_on_the_python_its_runtime_names_else_on_the_host_with_one_warning(
    tmp_path, make_server, monkeypatch
):
    wrapper_bin = tmp_path / "bin"
    wrapper_bin.mkdir()
    marker = tmp_path / "python3.12-calls"
    wrapper = wrapper_bin / "python3.12"
    wrapper.write_text(WRAPPER.format(marker=marker, python=sys.executable))
    wrapper.chmod(0o755)
    shim = wrapper_bin / "python3.10"
    shim.write_text(SHIM)
    shim.chmod(0o755)
    path = f"{wrapper_bin}:/usr/local/bin:/usr/bin:/bin"  # no pyenv shims: no real python3.13 here
    assert shutil.which("python3.13", path=path) is None
    assert shutil.which("python3.12", path=path) == str(wrapper)
    monkeypatch.setenv("PATH", path)  # the control plane (a child process) inherits it

    wheel = tmp_path / "wheels" / "tinypkg-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(_wheel("tinypkg", "1.0", 'WHO = "tiny"\n'))
    functions = tmp_path / "functions"
    _function(functions, "on312", "python3.12", requirements=f"{wheel}\n")
    _function(functions, "on311", "python3.11", requirements=f"{wheel}\n")  # the host's version
    _function(functions, "first313", "python3.13")
    _function(functions, "second313", "python3.13")
    _function(functions, "on310", "python3.10")
    lam = lambda_client(make_server(functions, "process"))
    host_bin = str(Path(sys.executable).parent)

    on312 = _call(lam, "on312")
    assert on312["wrapped"] == "python3.12"
    assert on312["path0"] == str(wrapper_bin)
    assert on312["package"][0] == "tiny"
    calls = marker.read_text().splitlines()
    assert any(call.startswith("-m pip install --target ") for call in calls), calls
    assert any(call.startswith("-I -S -B ") and call.endswith("bootstrap.py") for call in calls), calls

    # the host's version runs on the host's Python, with packages installed apart from 3.12's
    on311 = _call(lam, "on311")
    assert on311["wrapped"] is None and on311["path0"] == host_bin
    assert on311["package"][0] == "tiny"
    assert Path(on311["package"][1]).parents[1] != Path(on312["package"][1]).parents[1]
    assert len(marker.read_text().splitlines()) == len(calls)  # the wrapper did not run for it

    # no python3.13 on PATH: the host's Python, and one warning for two functions and four invokes
    for name in ("first313", "second313", "first313", "second313"):
        body = _call(lam, name)
        assert body["wrapped"] is None and body["path0"] == host_bin, body
    # a python3.10 on PATH that does not run: the host's Python, and the warning says why
    on310 = _call(lam, "on310")
    assert on310["wrapped"] is None and on310["path0"] == host_bin, on310
    log = make_server.output.read()
    assert log.count(WARNING) == 1, log
    assert log.count(f"{shim} does not run (exit status 127: pyenv: python3.10: command not found): "
                     "functions with Runtime python3.10 run on this Python") == 1, log
    assert "Runtime python3.12" not in log and "Runtime python3.11" not in log
