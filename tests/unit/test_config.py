"""Settings: read from CLOUDMICRO_* variables, and written back to them for a child process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from emulator.config import Settings


def test_settings_survive_the_trip_through_the_environment(monkeypatch):
    settings = replace(Settings.from_env(), port=1234, executor="process", deps_dir=Path("/tmp/deps"),
                       seed_on_start=False, async_retry_delay=0.25, watch="poll", moto_url="http://127.0.0.1:9",
                       max_starting=3, idle_timeout=12.5, cloudwatch_logs=False)
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == settings


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("CLOUDMICRO_MAX_STARTING", "0")
    with pytest.raises(ValueError, match="CLOUDMICRO_MAX_STARTING must be at least 1"):
        Settings.from_env()


def test_the_dependency_cache_defaults_to_the_state_folder(tmp_path):
    settings = replace(Settings(), state_dir=tmp_path / "state")
    assert settings.dependencies_dir == (tmp_path / "state" / "deps").resolve()
    assert replace(settings, deps_dir=tmp_path / "cache").dependencies_dir == (tmp_path / "cache").resolve()
