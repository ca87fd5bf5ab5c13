"""One way to patch moto (emulator/moto/patching.py): sets applied and undone as a whole, once,
with moto's version checked once."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from emulator.moto import patching
from emulator.moto.patching import Patch, PatchError, PatchSet, replace_with


class Base:
    def inherited(self) -> str:
        return "base"


class Target(Base):
    def greet(self) -> str:
        return "moto"

    @property
    def size(self) -> int:
        return 1


@pytest.fixture(autouse=True)
def pinned_version(monkeypatch: pytest.MonkeyPatch):
    """Each test starts from the version check not done yet, and moto as pinned."""
    patching.installed_moto_version.cache_clear()
    patching.moto_version_ok.cache_clear()
    monkeypatch.setattr(patching, "installed_moto_version", lambda: patching.PINNED_MOTO_VERSION)
    yield
    patching.moto_version_ok.cache_clear()


def wrapping(original):
    return lambda self: f"patched {original(self)}"


def test_apply_puts_every_patch_in_place_once_and_undo_puts_the_originals_back():
    module = SimpleNamespace(limit=3)
    config = {"run": False}
    made: list[str] = []

    def patches():
        made.append("listed")
        return [Patch(Target, "greet", wrapping), Patch(module, "limit", lambda n: n * 2),
                Patch(config, "run", replace_with(True)), Patch(Target, "size", replace_with(property(lambda s: 9)))]

    original_greet = Target.__dict__["greet"]
    patch_set = PatchSet("demo", patches)
    assert not patch_set.applied
    assert patch_set.apply() and patch_set.apply()
    assert made == ["listed"]  # once
    assert (Target().greet(), module.limit, config["run"], Target().size) == ("patched moto", 6, True, 9)
    assert patch_set.original(Target, "greet") is original_greet
    assert patch_set.labels() == ["Target.greet", "SimpleNamespace.limit", "dict['run']", "Target.size"]
    patch_set.undo()
    assert not patch_set.applied
    assert (Target().greet(), module.limit, config["run"], Target().size) == ("moto", 3, False, 1)
    assert patch_set.original(Target, "greet") is None
    assert patch_set.apply()  # and again
    assert Target().greet() == "patched moto"
    patch_set.undo()


def test_an_inherited_attribute_is_inherited_again_after_undo():
    patch_set = PatchSet("demo", lambda: [Patch(Target, "inherited", wrapping)])
    patch_set.apply()
    assert Target().inherited() == "patched base"
    patch_set.undo()
    assert "inherited" not in vars(Target) and Target().inherited() == "base"


def test_a_new_attribute_is_added_and_removed():
    patch_set = PatchSet("demo", lambda: [Patch(Target, "extra", replace_with(lambda self: "new"), new=True)])
    patch_set.apply()
    assert Target().extra() == "new"  # type: ignore[attr-defined]
    patch_set.undo()
    assert not hasattr(Target, "extra")
    taken = PatchSet("demo", lambda: [Patch(Target, "greet", replace_with(None), new=True)])
    with pytest.raises(PatchError, match=r"has a Target\.greet already"):
        taken.apply()


def test_a_missing_target_applies_nothing_and_names_it():
    patch_set = PatchSet("demo", lambda: [Patch(Target, "greet", wrapping), Patch(Target, "gone", wrapping)])
    with pytest.raises(PatchError, match=r"has no Target\.gone \(the demo patches are written for moto 5\.2\.5\)"):
        patch_set.apply()
    assert Target().greet() == "moto" and not patch_set.applied


def test_another_moto_skips_optional_sets_and_warns_once(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture):
    monkeypatch.setattr(patching, "installed_moto_version", lambda: "9.9.9")
    optional = PatchSet("speed", lambda: [Patch(Target, "greet", wrapping)], optional=True)
    needed = PatchSet("delivery", lambda: [Patch(Target, "size", replace_with(property(lambda s: 2)))])
    with caplog.at_level(logging.WARNING, logger="emulator.moto.patching"):
        assert optional.apply() is False
        assert needed.apply() is True
        assert optional.apply() is False
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "9.9.9" in warnings[0] and "5.2.5" in warnings[0]
    assert Target().greet() == "moto" and Target().size == 2
    needed.undo()


def test_the_version_is_read_once(monkeypatch: pytest.MonkeyPatch):
    reads: list[int] = []

    def version() -> str:
        reads.append(1)
        return patching.PINNED_MOTO_VERSION

    monkeypatch.setattr(patching, "installed_moto_version", version)
    for name in ("a", "b", "c"):
        PatchSet(name, list, optional=True).apply()
    assert len(reads) == 1


def test_the_real_sets_apply_to_the_pinned_moto(monkeypatch: pytest.MonkeyPatch):
    """Every set Cloudmicro has finds all its targets in the installed (pinned) moto."""
    monkeypatch.undo()  # the installed moto's own version
    patching.moto_version_ok.cache_clear()
    from emulator.moto import services, sqs_speed

    for name, finders in services.PATCHERS.items():
        for find in finders:
            assert find().apply(), name
    assert sqs_speed.PATCHES.apply()
