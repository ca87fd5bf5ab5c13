"""What the commands share: settings from the environment and options, the executor check, and
the client of a running control plane."""

from __future__ import annotations

import os

import click

from emulator.cli.client import PlaneClient
from emulator.config import Settings


def settings_from(**overrides: object) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def check_executor(settings: Settings) -> None:
    """Fail early when ``--executor docker`` is asked for and no engine answers."""
    if settings.executor == "docker":
        from emulator.executors.docker import docker_client

        if docker_client() is None:
            raise click.ClickException(
                "no Docker engine answers (is dockerd running? is DOCKER_HOST right?); "
                "start one, or use --executor process"
            )


def plane_client(endpoint: str | None, settings: Settings) -> PlaneClient:
    """The control plane named by --endpoint, CLOUDMICRO_ENDPOINT or the settings."""
    return PlaneClient(endpoint or os.environ.get("CLOUDMICRO_ENDPOINT") or settings.endpoint,
                       token=settings.admin_token, state_dir=settings.state_dir)


def running_plane(endpoint: str | None) -> PlaneClient:
    plane = plane_client(endpoint, settings_from())
    if not plane.healthy():
        raise click.ClickException(f"no control plane answers at {plane.endpoint}")
    return plane
