"""Code input cannot reach outside its folders, nor hold the control plane up (issue 12, "Safe by
default"), seen from boto3 against a real control plane.

* Crafted zips (entries named ``../x`` or ``/x``, links that point out, FIFOs and devices,
  bombs) are refused by CreateFunction and UpdateFunctionCode with AWS's error, and leave nothing
  behind: no file outside the code folder is created, written or chmod-ed, no half-unpacked
  folder stays in the state folder, and the function being updated keeps its code.
* A zip bomb gets AWS's answer for an unzipped size over 250 MB while ``/_cloudmicro/health``
  keeps answering, and functions still run afterwards.
* Folders holding FIFOs, sockets and devices (function folders, layers, hot-reload folders) load,
  list, download and run; nothing opens the special files, so nothing blocks.
* Folders given by path (``hot-reload`` S3Key, Layers) must be inside the project, the functions
  folder or ``CLOUDMICRO_CODE_ROOTS``: ``/``, ``/usr`` or a link that leads out is refused with a
  4xx naming the entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import stat
import time
import urllib.request
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client
from tests.integration.responsiveness import HealthPoller

#: AWS's answer for a deployment package over the unzipped limit (250 MB)
UNZIPPED_TOO_LARGE = "Unzipped size must be smaller than 262144000 bytes"
APP = "def handler(event, context):\n    return {'code': VERSION}\n"
ROLE = "arn:aws:iam::123456789012:role/lambda-role"


# --- zips, with entries written as given (zipfile's own writer would not make them) -------------


def _info(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("placeholder", date_time=(2026, 1, 1, 0, 0, 0))
    info.filename = name  # raw: no clean-up of '..', '/', '\\'
    info.external_attr = mode << 16
    info.create_system = 3  # Unix: the mode in external_attr counts
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def make_zip(*entries: tuple[str, bytes, int], version: str = "1") -> bytes:
    """A zip holding a good app.py (first, so a refused zip has already written something) and
    then ``entries``: (name, content, mode); a link's content is its target."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": a link, then a file of the same name
        archive.writestr(_info("app.py"), APP.replace("VERSION", repr(version)))
        for name, data, mode in entries:
            archive.writestr(_info(name, mode), data)
    return buffer.getvalue()


def link(name: str, target: str) -> tuple[str, bytes, int]:
    return name, target.encode(), stat.S_IFLNK | 0o777


def regular(name: str, data: bytes = b"pwned\n", mode: int = 0o777) -> tuple[str, bytes, int]:
    return name, data, stat.S_IFREG | mode


# --- what is outside the code folders, before and after ----------------------------------------


def snapshot(folder: Path, leave_out: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``folder`` but ``leave_out``: (mode, size, mtime, content digest)."""
    seen: dict[str, tuple[int, int, int, str]] = {}
    for parent, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if Path(parent, f) != leave_out]
        for name in [*folders, *names]:
            path = Path(parent, name)
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else ""
            seen[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return seen


def leftovers(state: Path) -> list[str]:
    """Half-unpacked folders (``.*.tmp``) anywhere in the state folder."""
    return [str(p) for p in state.rglob("*.tmp")]


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if not p.is_dir()] if folder.exists() else []


def invoke(lam: Any, name: str, payload: Any = None) -> Any:
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}))
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    return body


def refused(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The error of a call that must be refused with a 4xx."""
    started = time.monotonic()
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    elapsed = time.monotonic() - started
    response = caught.value.response
    assert 400 <= response["ResponseMetadata"]["HTTPStatusCode"] < 500, response
    assert elapsed < 5, f"refusing took {elapsed:.1f} s"
    return response["Error"]


# --- a control plane for the zip tests: its project folder holds a sentinel file ----------------


class Plane:
    def __init__(self, base: Path, endpoint: str) -> None:
        self.base = base
        self.state = base / "state"
        self.endpoint = endpoint
        self.lam = lambda_client(endpoint)
        self.sentinel = base / "sentinel.txt"

    def outside(self) -> dict[str, tuple[int, int, int, str]]:
        return snapshot(self.base, leave_out=self.state)


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Callable[..., str], docker_engine: Any
          ) -> Plane:
    base = tmp_path_factory.mktemp("zips")
    folder = base / "functions" / "plain"
    folder.mkdir(parents=True)
    (folder / "plain.py").write_text("def plain_handler(event, context):\n    return 'plain'\n")
    sentinel = base / "sentinel.txt"
    sentinel.write_text("the user's own file\n")
    sentinel.chmod(0o644)
    endpoint = cloudmicro_server(functions_dir=base / "functions", executor="docker", state_dir=base / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600)
    plane = Plane(base, endpoint)
    plane.lam.create_function(FunctionName="target", Runtime="python3.11", Handler="app.handler", Role=ROLE,
                              Code={"ZipFile": make_zip(version="good")})
    assert invoke(plane.lam, "target") == {"code": "good"}
    return plane


def escape_names(sentinel: Path) -> Iterator[tuple[str, list[tuple[str, bytes, int]]]]:
    """Crafted entries, each aimed at the sentinel (the code is unpacked four levels below it:
    <base>/state/code/<function>/<folder>) or at a fresh name in /tmp."""
    up = "../../../../sentinel.txt"
    stray = f"/tmp/cloudmicro-escape-{uuid.uuid4().hex}"
    yield "dot-dot", [regular(up)]
    yield "dot-dot-inside-a-name", [regular("lib/../../../../../sentinel.txt")]
    yield "dot-dot-deep", [regular("../" * 40 + "tmp/" + Path(stray).name)]
    yield "absolute-name", [regular(str(sentinel))]
    yield "absolute-name-in-tmp", [regular(stray)]
    yield "backslashes", [regular(up.replace("/", "\\"))]
    yield "drive-letter", [regular("C:\\sentinel.txt")]
    yield "link-to-an-absolute-file-then-write-through-it", [link("evil", str(sentinel)), regular("evil")]
    yield "link-climbing-out", [link("evil", up)]
    yield "link-to-a-folder-outside-then-a-file-in-it", [link("out", "../../../.."), regular("out/sentinel.txt")]
    yield "link-to-tmp", [link("tmp", "/tmp"), regular(f"tmp/{Path(stray).name}")]
    yield "link-to-the-root", [link("root", "/")]
    yield "fifo-entry", [("pipe", b"", stat.S_IFIFO | 0o644)]
    yield "device-entry", [("null", b"", stat.S_IFCHR | 0o666)]


@pytest.mark.parametrize("case", [name for name, _ in escape_names(Path("/sentinel.txt"))])
def test_a_crafted_zip_is_refused_and_writes_nothing_outside(plane: Plane, case: str) -> None:
    entries = dict(escape_names(plane.sentinel))[case]
    stray = [Path("/tmp", Path(n).name) for n, _, _ in entries if "cloudmicro-escape-" in n]
    data = make_zip(*entries, version="crafted")
    before = plane.outside()
    name = f"crafted-{uuid.uuid4().hex[:8]}"

    created = refused(plane.lam.create_function, FunctionName=name, Runtime="python3.11", Handler="app.handler",
                      Role=ROLE, Code={"ZipFile": data})
    updated = refused(plane.lam.update_function_code, FunctionName="target", ZipFile=data)

    print(f"\n{case}: {created['Message']}")
    for error in (created, updated):
        assert error["Code"] == "InvalidParameterValueException", error
        assert error["Message"].startswith("Could not unzip uploaded file"), error
    assert plane.outside() == before  # nothing outside created, written or chmod-ed
    assert stat.S_IMODE(plane.sentinel.stat().st_mode) == 0o644
    assert plane.sentinel.read_text() == "the user's own file\n"
    assert not [p for p in stray if os.path.lexists(p)]
    assert not leftovers(plane.state)
    assert not files_under(plane.state / "code" / name)
    assert refused(plane.lam.get_function, FunctionName=name)["Code"] == "ResourceNotFoundException"
    assert invoke(plane.lam, "target") == {"code": "good"}  # the refused update changed nothing
    assert invoke(plane.lam, "plain") == "plain"


def test_links_inside_the_zip_are_kept_and_modes_are_tamed(plane: Plane) -> None:
    """What Lambda keeps, Cloudmicro keeps: a link to a file or folder inside the code works.
    Modes apply to the files written (executable stays executable) but never set-uid."""
    linked = b"import alias.word, shortcut\ndef handler(event, context):\n    return [alias.word.WORD, shortcut.WORD]\n"
    data = make_zip(
        ("pkg/__init__.py", b"", stat.S_IFREG | 0o644),
        ("pkg/word.py", b"WORD = 'linked'\n", stat.S_IFREG | 0o644),
        link("alias", "pkg"),  # a folder link
        link("shortcut.py", "pkg/word.py"),  # a file link
        regular("linked.py", linked, 0o644),
        regular("run.sh", b"#!/bin/sh\necho hi\n", 0o4755),  # set-uid asked for
        regular("private.txt", b"x", 0o600),
    )
    name = f"links-{uuid.uuid4().hex[:8]}"
    plane.lam.create_function(FunctionName=name, Runtime="python3.11", Handler="linked.handler", Role=ROLE,
                              Code={"ZipFile": data})
    [folder] = [p for p in (plane.state / "code" / name).iterdir() if not p.name.startswith(".")]
    assert os.readlink(folder / "alias") == "pkg"
    assert os.readlink(folder / "shortcut.py") == "pkg/word.py"
    assert stat.S_IMODE((folder / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "private.txt").stat().st_mode) == 0o644  # readable by the runtime's user
    assert invoke(plane.lam, name) == ["linked", "linked"]
    plane.lam.delete_function(FunctionName=name)


# --- bombs --------------------------------------------------------------------------------------


def _bomb_one_entry() -> bytes:
    """One entry of 300 MB of zeros: a 300 KB zip."""
    buffer = io.BytesIO()
    zero = bytes(1 << 20)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(_info("app.py"), APP.replace("VERSION", "'bomb'"))
        with archive.open(_info("zeros.bin"), "w", force_zip64=True) as entry:
            for _ in range(300):
                entry.write(zero)
    return buffer.getvalue()


def _bomb_many_entries() -> bytes:
    """Six entries of 50 MB each: every one is small enough, all together too large."""
    buffer = io.BytesIO()
    zero = bytes(1 << 20)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(_info("app.py"), APP.replace("VERSION", "'bomb'"))
        for part in range(6):
            with archive.open(_info(f"part{part}.bin"), "w") as entry:
                for _ in range(50):
                    entry.write(zero)
    return buffer.getvalue()


def _bomb_of_files() -> bytes:
    """50,001 empty files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_info("app.py"), APP.replace("VERSION", "'bomb'"))
        for index in range(50_001):
            archive.writestr(_info(f"f/{index}"), b"")
    return buffer.getvalue()


BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "one-300MB-entry": (_bomb_one_entry, UNZIPPED_TOO_LARGE),
    "six-50MB-entries": (_bomb_many_entries, UNZIPPED_TOO_LARGE),
    "50001-files": (_bomb_of_files, "The zip holds 50,002 entries: more than 50,000"),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_zip_bomb_gets_awss_error_while_the_control_plane_keeps_answering(plane: Plane, bomb: str) -> None:
    build, message = BOMBS[bomb]
    data = build()
    assert len(data) < 8 * 1024 * 1024  # small as zips go: AWS takes 50 MB
    name = f"bomb-{uuid.uuid4().hex[:8]}"
    before = plane.outside()

    with HealthPoller(plane.endpoint) as poll:
        started = time.monotonic()
        created = refused(plane.lam.create_function, FunctionName=name, Runtime="python3.11",
                          Handler="app.handler", Role=ROLE, Code={"ZipFile": data})
        create_seconds = time.monotonic() - started
        updated = refused(plane.lam.update_function_code, FunctionName="target", ZipFile=data)

    print(f"\n{bomb}: {len(data):,} byte zip refused in {create_seconds:.2f} s; {poll.summary()}")
    for error in (created, updated):
        assert error == {"Code": "InvalidParameterValueException", "Message": message}
    assert not poll.failures, poll.failures
    assert poll.worst < 0.5, poll.summary()
    assert plane.outside() == before
    assert not leftovers(plane.state)
    assert not files_under(plane.state / "code" / name)  # the 250 MB written meanwhile are gone
    assert sum(p.stat().st_size for p in files_under(plane.state / "code")) < 1024 * 1024
    # and it still runs functions, the one whose update was refused with its old code
    assert invoke(plane.lam, "target") == {"code": "good"}
    assert invoke(plane.lam, "plain") == "plain"


# --- folders with special files -------------------------------------------------------------------


def special_files(folder: Path) -> list[str]:
    """A FIFO (opening it for reading waits for a writer), a socket and a character device in
    ``folder``; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    server.close()  # the socket file stays
    os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return ["pipe", "sock", "null"]


@pytest.mark.parametrize("executor", ["docker", "process"])
def test_folders_with_fifos_sockets_and_devices_load_list_and_run(executor: str, make_server: Any, tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    if executor == "docker":
        request.getfixturevalue("docker_engine")
    functions = tmp_path / "functions"
    folder = functions / "piped"
    special_files(folder)
    special_files(folder / "sub")
    for layer in ("one", "two"):  # two layers: Docker mounts a merged copy of them
        (tmp_path / "layers" / layer / "python").mkdir(parents=True)
        (tmp_path / "layers" / layer / "python" / f"{layer}.py").write_text(f"NAME = {layer!r}\n")
        special_files(tmp_path / "layers" / layer / "python" / "specials")
    (folder / "piped.py").write_text(
        "import one, two\ndef piped_handler(event, context):\n    return [one.NAME, two.NAME, 1]\n")
    (folder / "function.json").write_text(json.dumps({"Layers": ["one", "two"], "Timeout": 10}))
    elsewhere = tmp_path / "elsewhere"  # a hot-reload folder (API-created) with special files too
    special_files(elsewhere)
    (elsewhere / "app.py").write_text("def main(event, context):\n    return 'from elsewhere'\n")

    endpoint = make_server(functions, executor, seed_on_start=False)
    lam = lambda_client(endpoint)
    with HealthPoller(endpoint) as poll:
        started = time.monotonic()
        listed = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
        list_seconds = time.monotonic() - started
        assert listed == ["piped"]
        assert invoke(lam, "piped") == ["one", "two", 1]
        configuration = lam.get_function(FunctionName="piped")
        with urllib.request.urlopen(configuration["Code"]["Location"], timeout=10) as reply:
            names = set(zipfile.ZipFile(io.BytesIO(reply.read())).namelist())
        assert names == {"piped.py", "function.json"}
        # a FIFO made while it runs: the reload reads the folder again, the new code runs
        os.mkfifo(folder / "late-pipe")
        (folder / "piped.py").write_text(
            "import one, two\ndef piped_handler(event, context):\n    return [one.NAME, two.NAME, 2]\n")
        assert invoke(lam, "piped") == ["one", "two", 2]
        lam.create_function(FunctionName="fromapi", Runtime="python3.11", Handler="app.main", Role=ROLE,
                            Code={"S3Bucket": "hot-reload", "S3Key": str(elsewhere)})
        assert invoke(lam, "fromapi") == "from elsewhere"
        assert sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]) == ["fromapi", "piped"]

    print(f"\n{executor}: ListFunctions {list_seconds * 1000:.0f} ms; {poll.summary()}")
    assert list_seconds < 1
    assert not poll.failures, poll.failures
    # nothing opened a FIFO (which would wait for a writer): the loop kept answering
    assert poll.worst < 1, poll.summary()
    for where in (folder, folder / "sub", elsewhere):
        assert stat.S_ISFIFO((where / "pipe").lstat().st_mode)  # untouched



# --- folders given by path must be inside the project ---------------------------------------------


def test_folders_outside_the_project_are_refused_with_a_4xx(make_server: Any, tmp_path: Path,
                                                          tmp_path_factory: pytest.TempPathFactory,
                                                          docker_engine: Any) -> None:
    outside = tmp_path_factory.mktemp("outside")  # a sibling of the test's folder: not under it
    (outside / "app.py").write_text("def main(event, context):\n    return 'outside'\n")
    (outside / "python").mkdir()
    (outside / "python" / "shared.py").write_text("WORD = 'outside'\n")
    (tmp_path / "way-out").symlink_to(outside)  # inside the project, leading out
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "evil").symlink_to(outside)  # a layer folder that leads out
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "app.py").write_text("def main(event, context):\n    return 'inside'\n")
    functions = tmp_path / "functions"
    (functions / "good").mkdir(parents=True)
    (functions / "good" / "good.py").write_text("def good_handler(event, context):\n    return 'good'\n")
    bad_layers = {"usr": "/usr", "root": "/", "absolute": str(outside), "climbing": "../" * 20 + "usr",
                  "linked": str(tmp_path / "way-out"), "named": "evil"}
    for name, layer in bad_layers.items():  # folder functions whose function.json names a layer outside
        (functions / name).mkdir()
        (functions / name / f"{name}.py").write_text(f"def {name}_handler(event, context):\n    return 1\n")
        (functions / name / "function.json").write_text(json.dumps({"Layers": [layer]}))

    endpoint = make_server(functions, "docker", seed_on_start=False)
    lam = lambda_client(endpoint)
    lam.create_function(FunctionName="mine", Runtime="python3.11", Handler="app.main", Role=ROLE,
                        Code={"S3Bucket": "hot-reload", "S3Key": str(tmp_path / "inside")})
    assert invoke(lam, "mine") == "inside"
    create = {"FunctionName": "escapee", "Runtime": "python3.11", "Handler": "app.main", "Role": ROLE}

    with HealthPoller(endpoint) as poll:
        for key in ("/", "/usr", "/etc", str(outside), str(tmp_path / "way-out"), f"{functions}/../../{outside.name}"):
            for call, kwargs in (
                (lam.create_function, {**create, "Code": {"S3Bucket": "hot-reload", "S3Key": key}}),
                (lam.update_function_code, {"FunctionName": "mine", "S3Bucket": "hot-reload", "S3Key": key}),
            ):
                error = refused(call, **kwargs)
                assert error["Code"] == "InvalidParameterValueException", error
                assert f"Code.S3Key {key!r}" in error["Message"] and "is outside the project" in error["Message"]
                assert "CLOUDMICRO_CODE_ROOTS" in error["Message"], error
        # the API takes layer version ARNs (AWS's pattern: a path is a ValidationException, as on AWS);
        # the ARN of a layer folder that leads out of the project is refused as the path would be
        code = {"S3Bucket": "hot-reload", "S3Key": str(tmp_path / "inside")}
        evil = "arn:aws:lambda:us-east-1:123456789012:layer:evil:1"
        for layers, code_name, words in ((["/usr"], "ValidationException", "failed to satisfy constraint"),
                                         ([evil], "InvalidParameterValueException", "is outside the project")):
            for call, kwargs in ((lam.create_function, {**create, "Layers": layers, "Code": code}),
                                 (lam.update_function_configuration, {"FunctionName": "mine", "Layers": layers})):
                error = refused(call, **kwargs)
                assert error["Code"] == code_name and words in error["Message"], error
        started = time.monotonic()
        functions_listed = lam.list_functions()["Functions"]
        list_seconds = time.monotonic() - started

    print(f"\nrefusals: ListFunctions {list_seconds * 1000:.0f} ms; {poll.summary()}")
    assert sorted(f["FunctionName"] for f in functions_listed) == ["good", "mine"]
    assert list_seconds < 0.5
    assert not poll.failures and poll.worst < 0.5, poll.summary()
    assert refused(lam.get_function, FunctionName="escapee")["Code"] == "ResourceNotFoundException"
    assert "Layers" not in lam.get_function(FunctionName="mine")["Configuration"]
    assert invoke(lam, "mine") == "inside"  # the refused updates changed nothing
    assert invoke(lam, "good") == "good"
    # each folder function naming a layer outside is skipped, and health says why
    with urllib.request.urlopen(f"{endpoint}/_cloudmicro/health", timeout=10) as reply:
        errors = json.loads(reply.read())["lambda"]["config_errors"]
    assert sorted(errors) == sorted(bad_layers)
    for name, layer in bad_layers.items():
        assert f"layer {layer!r} is outside the project" in errors[name], errors[name]
        error = refused(lam.invoke, FunctionName=name)
        assert error["Code"] == "ResourceNotFoundException" and "outside the project" in error["Message"], error


def test_code_roots_let_a_folder_outside_the_project_in(make_server: Any, tmp_path: Path,
                                                        tmp_path_factory: pytest.TempPathFactory,
                                                        docker_engine: Any) -> None:
    outside = tmp_path_factory.mktemp("shared")
    (outside / "fn").mkdir()
    (outside / "fn" / "app.py").write_text("def main(event, context):\n    return 'from a code root'\n")
    (outside / "layer" / "python").mkdir(parents=True)
    (outside / "layer" / "python" / "shared.py").write_text("WORD = 'allowed'\n")
    functions = tmp_path / "functions"
    (functions / "folderfn").mkdir(parents=True)
    (functions / "folderfn" / "folderfn.py").write_text(
        "import shared\ndef folderfn_handler(event, context):\n    return shared.WORD\n")
    (functions / "folderfn" / "function.json").write_text(json.dumps({"Layers": [str(outside / "layer")]}))
    lam = lambda_client(make_server(functions, "docker", seed_on_start=False, code_roots=(outside,)))
    assert invoke(lam, "folderfn") == "allowed"
    lam.create_function(FunctionName="allowed", Runtime="python3.11", Handler="app.main", Role=ROLE,
                        Code={"S3Bucket": "hot-reload", "S3Key": str(outside / "fn")})
    assert invoke(lam, "allowed") == "from a code root"
    error = refused(lam.update_function_code, FunctionName="allowed", S3Bucket="hot-reload", S3Key="/usr")
    assert "outside the project" in error["Message"] and str(outside) in error["Message"], error
    assert lam.get_function(FunctionName="allowed")["Configuration"]["CodeSize"] > 0
