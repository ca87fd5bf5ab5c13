"""The reloader's decisions (called directly, without file events): new revisions, added and
removed functions, bad configurations, API functions, and the hot-reload bucket convention."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from emulator.domain.errors import InvalidParameterValueException
from emulator.domain.registry import FunctionRegistry
from emulator.invocation.reloader import Reloader


class Pool:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def drop_function(self, name: str) -> None:
        self.dropped.append(name)


def setup(tmp_path: Path) -> tuple[FunctionRegistry, Pool, Reloader]:
    registry = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 1\n")
    registry.load_folders()
    pool = Pool()
    return registry, pool, Reloader(registry, pool, "events")  # type: ignore[arg-type]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def reload(reloader: Reloader, name: str, *paths: Path) -> None:
    asyncio.run(reloader.reload(name, frozenset(paths)))


def test_changed_code_is_a_new_revision_and_unchanged_code_is_not(tmp_path):
    registry, pool, reloader = setup(tmp_path)
    before = registry.get("fn")
    reload(reloader, "fn")
    assert registry.get("fn") is before and pool.dropped == []
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 2\n")
    reload(reloader, "fn")
    after = registry.get("fn")
    assert after.revision_id != before.revision_id and after.code_sha256 != before.code_sha256
    assert pool.dropped == ["fn"] and reloader.reloads == {"fn": 1}


def test_a_bad_config_keeps_the_last_good_function_until_fixed(tmp_path):
    registry, _, reloader = setup(tmp_path)
    good = registry.get("fn")
    write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Timeout": 0}')
    reload(reloader, "fn")
    assert registry.get("fn") is good
    assert "Timeout" in registry.load_errors["fn"]
    write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Timeout": 9}')
    reload(reloader, "fn")
    assert registry.get("fn").timeout == 9 and "fn" not in registry.load_errors


def test_new_and_removed_folders(tmp_path):
    registry, pool, reloader = setup(tmp_path)
    write(tmp_path / "functions" / "other" / "other.py", "def other_handler(e, c): pass\n")
    reload(reloader, "other")
    assert "other" in registry
    (tmp_path / "functions" / "other" / "other.py").unlink()
    reload(reloader, "other")
    assert "other" not in registry and pool.dropped[-1] == "other"
    reload(reloader, "_hidden")
    assert "_hidden" not in registry


def test_code_uploaded_through_the_api_is_not_replaced_by_its_folder(tmp_path):
    registry, _, reloader = setup(tmp_path)
    import base64
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fn.py", "def fn_handler(e, c):\n    return 'zip'\n")
    uploaded = registry.update_code("fn", {"ZipFile": base64.b64encode(buffer.getvalue()).decode()})
    write(tmp_path / "functions" / "fn" / "fn.py", "def fn_handler(e, c):\n    return 3\n")
    reload(reloader, "fn")
    assert registry.get("fn") is uploaded


def test_the_hot_reload_bucket_convention(tmp_path):
    registry, _, reloader = setup(tmp_path)
    folder = tmp_path / "mine"
    write(folder / "app.py", "def main(e, c): return 1\n")
    seen: list[int] = []
    registry.on_change(lambda: seen.append(1))
    function = registry.create({"FunctionName": "hot", "Runtime": "python3.11", "Handler": "app.main",
                                "Code": {"S3Bucket": "hot-reload", "S3Key": str(folder)}})
    assert function.hot_reload and function.code_dir == folder.resolve() and seen == [1]
    write(folder / "app.py", "def main(e, c): return 2\n")
    reload(reloader, "hot", folder / "app.py")
    assert registry.get("hot").code_sha256 != function.code_sha256
    registry.delete("hot")
    assert (folder / "app.py").exists()
    for key in ("relative/path", str(tmp_path / "nothing"), None):
        with pytest.raises(InvalidParameterValueException):
            registry.create({"FunctionName": "hot2", "Runtime": "python3.11", "Handler": "app.main",
                             "Code": {"S3Bucket": "hot-reload", "S3Key": key}})


def test_a_changed_layer_is_a_new_revision(tmp_path):
    registry, pool, reloader = setup(tmp_path)
    write(tmp_path / "layers" / "common" / "python" / "shared.py", "X = 1\n")
    write(tmp_path / "functions" / "fn" / "function.json", '{"Handler": "fn.fn_handler", "Layers": ["common"]}')
    reload(reloader, "fn")
    before = registry.get("fn")
    assert [layer.name for layer in before.layers] == ["common"]
    reload(reloader, "fn", tmp_path / "functions" / "fn" / "fn.py")
    assert registry.get("fn") is before  # nothing changed
    reload(reloader, "fn", (tmp_path / "layers" / "common" / "python" / "shared.py").resolve())
    assert registry.get("fn").revision_id != before.revision_id
