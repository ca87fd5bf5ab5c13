"""The dev loop's commands: ``cloudmicro dev`` (serve, reload on save, stream the logs) and
``cloudmicro logs NAME [-f]`` (a function's recent invocations from a running control plane,
then new ones as they come)."""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from emulator.cli.client import PlaneClient
from emulator.cli.common import check_executor, running_plane, settings_from
from emulator.cli.template_dev import overrides_from, template_options
from emulator.config import DEFAULT_PORT, Settings
from emulator.invocation import log_style


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help=f"Port (default {DEFAULT_PORT}).")
@click.option("--executor", type=click.Choice(["auto", "docker", "process"]), default=None,
              help="Where functions run (default: Docker when an engine answers).")
@click.option("--functions-dir", type=click.Path(path_type=Path), default=None, help="Default ./functions.")
@click.option("--poll", is_flag=True,
              help="Look for changes by polling (for setups where saving a file reloads nothing).")
@template_options
def dev(host: str | None, port: int | None, executor: str | None, functions_dir: Path | None, poll: bool,
        template: Path | None, stack_name: str | None, parameter_overrides: tuple[str, ...]) -> None:
    """Serve for the dev loop: a saved file reloads its function, every invocation's log is shown live.

    With --template, the template is deployed to the local CloudFormation once the control plane
    answers (its functions run from their folders and reload on save), and again when it is saved."""
    from emulator.domain.registry import FunctionRegistry

    settings = settings_from(host=host, port=port, executor=executor, functions_dir=functions_dir,
                         watch="poll" if poll else None)
    if settings.watch == "off":  # CLOUDMICRO_WATCH=off is for serve; dev always watches
        settings = replace(settings, watch="auto")
    check_executor(settings)
    if template is not None:  # first: its CloudFormation engine loads while the rest starts
        settings = start_template_loop(settings, template, stack_name, parameter_overrides, watch=True)
    from emulator.app.server import serve as run

    registry = FunctionRegistry(settings.functions_dir, settings.state_dir, settings.region, settings.account_id,
                                roots=(settings.project_dir, *settings.code_roots))
    registry.load_folders()
    names = [f.name for f in registry.list()]
    click.echo(f"cloudmicro: dev on {settings.endpoint}: {len(names)} function(s) in {settings.functions_dir}"
               + (f": {', '.join(names)}" if names else ""), err=True)
    for folder, reason in registry.load_errors.items():
        click.echo(f"cloudmicro: {folder}: {reason}", err=True)
    click.echo("cloudmicro: save a file to reload its function; logs follow (Ctrl-C stops)", err=True)
    run(settings)


def start_template_loop(settings: Settings, template: Path, stack_name: str | None,
                        parameter_overrides: tuple[str, ...], *, watch: bool) -> Settings:
    """Check the template's options, then deploy it (and, with ``watch``, again on save) from a
    thread once the control plane answers; the settings returned let its folders be code."""
    from emulator.aws.botocore_data import share_loader
    from emulator.cli.client import PlaneClient
    from emulator.cli.template_dev import TemplateLoop
    from emulator.templates.loading import TemplateError
    from emulator.templates.prepare import template_file

    if not template.exists():
        raise click.UsageError(f"--template {template}: no such file")
    share_loader()  # before the first botocore Session of the process: they all read botocore's data once
    try:
        template = template_file(template)  # a cdk.out folder: its stack's template
    except TemplateError as exc:
        raise click.UsageError(f"--template: {exc}") from None
    overrides = overrides_from(parameter_overrides)
    try:
        loop = TemplateLoop(settings.function_endpoint, template, stack_name, overrides, settings.region)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if settings.moto_url is None:  # CloudFormation runs in this process: load it while the plane starts
        from emulator.moto.services import warm_cloudformation

        loop.warm_in_background(functools.partial(warm_cloudformation, settings.function_endpoint, settings.region))
    try:
        loop.deployer()  # the stack name is checked here
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    folder = template.resolve().parent  # its code folders are the project's: hot-reload may use them
    settings = replace(settings, code_roots=(*settings.code_roots, folder))
    click.echo(f"cloudmicro: deploying {template} as stack {loop.stack} once the control plane answers", err=True)
    loop.run_in_background(PlaneClient(settings.function_endpoint), watch=watch)
    return settings


@click.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep showing new invocations until Ctrl-C.")
@click.option("--number", "-n", type=click.IntRange(0, 100), default=10, show_default=True,
              help="How many recent invocations to show first.")
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
def logs(name: str, follow: bool, number: int, endpoint: str | None) -> None:
    """Show the logs of NAME's recent invocations (coloured on a terminal, plain when piped)."""
    plane = running_plane(endpoint)
    colour = log_style.wants_colour(sys.stdout)
    data = _fetch(plane, name, None, number, 0)
    _show(data, colour)
    if not follow:
        if not data["Invocations"]:
            click.echo(f"cloudmicro: no invocations of {data['FunctionName']} yet", err=True)
        return
    with contextlib.suppress(KeyboardInterrupt):
        _follow(plane, data["FunctionName"], data["Cursor"], data["Instance"], colour)


def _follow(plane: PlaneClient, name: str, cursor: int, instance: str, colour: bool) -> None:
    """Ask for what came after ``cursor`` again and again (each ask waits up to 1 s on the
    control plane); ride out a control plane that restarts or a function that goes away."""
    trouble: str | None = None
    while True:
        try:
            reply = plane.function_logs(name, cursor, wait=1)
        except OSError:
            trouble = _say_once(trouble, f"the control plane at {plane.endpoint} does not answer; waiting for it")
            time.sleep(0.5)
            continue
        if reply.status != 200:
            trouble = _say_once(trouble, reply.error_message() + "; waiting")
            time.sleep(0.5)
            continue
        data = reply.json()
        if data["Instance"] != instance:  # a new control plane: its logs are all new
            instance, cursor = data["Instance"], 0
            continue
        trouble = None
        _show(data, colour)
        cursor = data["Cursor"]


def _say_once(previous: str | None, message: str) -> str:
    if previous != message:
        click.echo(f"cloudmicro: {message}", err=True)
    return message


def _fetch(plane: PlaneClient, name: str, cursor: int | None, limit: int, wait: float) -> dict[str, Any]:
    reply = plane.function_logs(name, cursor, limit=limit, wait=wait)
    if reply.status != 200:
        raise click.ClickException(reply.error_message())
    data: dict[str, Any] = reply.json()
    return data


def _show(data: dict[str, Any], colour: bool) -> None:
    for invocation in data["Invocations"]:
        sys.stdout.write(log_style.styled(invocation["Log"], colour))
    sys.stdout.flush()
