"""``cloudmicro``: serve the control plane, invoke functions, list them, build images."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click

from emulator import startup_gc
from emulator.cli.client import PlaneClient
from emulator.cli.common import check_executor, plane_client, running_plane, settings_from
from emulator.cli.devloop import dev, logs, start_template_loop
from emulator.cli.scaffold import events, new
from emulator.cli.template_dev import template_options
from emulator.config import DEFAULT_PORT
from emulator.domain.arn import Arn


@click.group()
@click.version_option(package_name="cloudmicro")
def main() -> None:
    """Cloudmicro: AWS Lambda (and friends) on your machine."""
    startup_gc.pause()  # until the command's start is over (see emulator.startup_gc)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help=f"Port (default {DEFAULT_PORT}).")
@click.option("--executor", type=click.Choice(["auto", "docker", "process"]), default=None,
              help="Where functions run (default: Docker when an engine answers).")
@click.option("--functions-dir", type=click.Path(path_type=Path), default=None, help="Default ./functions.")
@template_options
def serve(host: str | None, port: int | None, executor: str | None, functions_dir: Path | None,
          template: Path | None, stack_name: str | None, parameter_overrides: tuple[str, ...]) -> None:
    """Run the control plane in the foreground (saved function files reload unless CLOUDMICRO_WATCH=off).

    With --template, the template is deployed once the control plane answers, and again on save
    unless CLOUDMICRO_WATCH=off."""
    settings = settings_from(host=host, port=port, executor=executor, functions_dir=functions_dir)
    check_executor(settings)
    if template is not None:  # first: its CloudFormation engine loads while the rest starts
        settings = start_template_loop(settings, template, stack_name, parameter_overrides,
                                       watch=settings.watch != "off")
    from emulator.app.server import serve as run

    click.echo(f"cloudmicro: serving on {settings.endpoint} (functions from {settings.functions_dir})", err=True)
    run(settings)


@contextlib.contextmanager
def _control_plane(endpoint: str | None, executor: str | None, seed: bool = True) -> Iterator[PlaneClient]:
    """The running control plane, or one started for the length of this command."""
    settings = settings_from(executor=executor, seed_on_start=None if seed else False)
    client = plane_client(endpoint, settings)
    if client.healthy():
        yield client
        return
    from emulator.app.server import BackgroundServer

    with BackgroundServer(replace(settings, port=0)) as started:
        plane = PlaneClient(started, token=settings.admin_token, state_dir=settings.state_dir)
        if settings.seed_on_start:
            plane.wait_for_seeding()
        yield plane


def _read_event(name: str, event: str | None, payload: str | None) -> bytes:
    if payload is not None and event is not None:
        raise click.UsageError("give --event or --payload, not both")
    if payload is not None:
        return payload.encode()
    if event == "-":
        return sys.stdin.buffer.read()
    path = Path(event) if event else settings_from().project_dir / "local_events" / f"{name}.json"
    if not path.exists():
        if event:
            raise click.UsageError(f"event file {path} does not exist")
        return b"{}"
    return path.read_bytes()


@main.command()
@click.argument("name")
@click.option("--event", "-e", default=None, help="Event file (default local_events/NAME.json; - for stdin).")
@click.option("--payload", "-p", default=None, help="Event as a JSON string.")
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
@click.option("--executor", type=click.Choice(["auto", "docker", "process"]), default=None,
              help="Executor of a control plane started for this call.")
def invoke(name: str, event: str | None, payload: str | None, endpoint: str | None, executor: str | None) -> None:
    """Invoke NAME: log lines to stderr, result to stdout; exit 1 on a function error."""
    body = _read_event(name, event, payload)
    with _control_plane(endpoint, executor) as plane:
        reply = plane.invoke(name, body)
        if reply.status >= 300:
            click.echo(f"cloudmicro: {reply.error_message()}", err=True)
            sys.exit(2)
        request_id = reply.headers.get("x-amzn-requestid", "")
        sys.stderr.write(plane.invocation_log(request_id))
    sys.stdout.write(reply.body.decode(errors="replace") + "\n")
    sys.stdout.flush()
    if "x-amz-function-error" in reply.headers:
        sys.exit(1)


@main.command(name="list")
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
def list_(endpoint: str | None) -> None:
    """List functions (from the running control plane, else from ./functions)."""
    settings = settings_from()
    plane = plane_client(endpoint, settings)
    if plane.healthy():
        rows = [(f["FunctionName"], f["Runtime"], f["Handler"], f["MemorySize"], f["Timeout"],
                 plane.function_url(f["FunctionName"]) or "")
                for f in plane.list_functions()]
    else:
        from emulator.domain.function_urls import FunctionUrlConfig, declared_url_id
        from emulator.domain.registry import FunctionRegistry

        def declared_url(arn: str) -> str:  # what the control plane will serve (unless the API changes it)
            config = FunctionUrlConfig("", arn, None, declared_url_id(arn), "NONE", None, "BUFFERED", "", "")
            return config.function_url(settings.port, settings.region)

        registry = FunctionRegistry(settings.functions_dir, settings.state_dir, settings.region, settings.account_id,
                                roots=(settings.project_dir, *settings.code_roots))
        registry.load_folders()
        rows = [(f.name, f.runtime, f.handler, f.memory_size, f.timeout,
                 declared_url(f.arn) if f.function_url is not None else "") for f in registry.list()]
        for folder, reason in registry.load_errors.items():
            click.echo(f"cloudmicro: {folder}: {reason}", err=True)
    click.echo(f"{'NAME':24} {'RUNTIME':12} {'HANDLER':32} {'MEMORY':>6} {'TIMEOUT':>7}  URL")
    for name, runtime, handler, memory, timeout, url in rows:
        click.echo(f"{name:24} {runtime:12} {handler:32} {memory:>6} {timeout:>7}  {url}".rstrip())
    routes = [r for r in plane.routes() if r["Kind"] != "URL"] if plane.healthy() else []
    if routes:
        click.echo(f"\n{'API':10} {'KIND':4} {'STAGE':10} {'ROUTE':36}  URL")
        for route in routes:
            click.echo(f"{route['Id']:10} {route['Kind']:4} {route['Stage']:10} {route['Route']:36}  {route['Url']}")


@main.command()
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
def mappings(endpoint: str | None) -> None:
    """Event source mappings: state, last result, batches processed, records in flight."""
    plane = running_plane(endpoint)
    rows = plane.request("GET", "/_cloudmicro/mappings").json()
    click.echo(f"{'UUID':36} {'FUNCTION':16} {'STATE':9} {'BATCHES':>7} {'RECORDS':>7} {'IN FLIGHT':>9}  "
               f"SOURCE / LAST RESULT")
    for row in rows:
        source = Arn.parse(row["EventSourceArn"]).resource
        click.echo(f"{row['UUID']:36} {row['FunctionName']:16} {row['State']:9} {row['batches']:>7} "
                   f"{row['records']:>7} {row['in_flight']:>9}  {source}  [{row['last_result']}]")


@main.command()
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
def reset(endpoint: str | None) -> None:
    """Wipe all state of the running control plane (AWS resources, API-created functions, logs)."""
    plane = running_plane(endpoint)
    reply = plane.request("POST", "/_cloudmicro/reset")
    if reply.status != 200:
        raise click.ClickException(reply.error_message())
    click.echo("cloudmicro: all state wiped", err=True)


@main.command()
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
@click.option("--db-gen-dir", type=click.Path(path_type=Path), default=None, help="Default ./db_gen.")
def seed(endpoint: str | None, db_gen_dir: Path | None) -> None:
    """Create the db_gen tables from scratch and load their data (exit 1 if a file is bad)."""
    from emulator.aws.seeding import seed_endpoint

    settings = settings_from(db_gen_dir=db_gen_dir)
    with _control_plane(endpoint, None, seed=False) as plane:
        report = seed_endpoint(plane.endpoint, settings.region, settings.db_gen_dir, sys.stderr)
    click.echo(report.summary(), err=True)
    if not report.ok:
        sys.exit(1)


@main.group()
def schedule() -> None:
    """Schedule rules (EventBridge ScheduleExpression) and EventBridge Scheduler schedules."""


def _target_name(arn: str) -> str:
    """A function's name for a Lambda ARN; any other ARN as it is."""
    return arn.split(":function:", 1)[1] if ":function:" in arn else arn


@schedule.command("list")
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
def schedule_list(endpoint: str | None) -> None:
    """Each schedule: name, expression, state, targets and next firing time (UTC)."""
    plane = running_plane(endpoint)
    reply = plane.request("GET", "/_cloudmicro/schedules")
    if reply.status != 200:
        raise click.ClickException(reply.error_message())
    data = reply.json()
    if data["ClockOffset"]:
        click.echo(f"cloudmicro: the schedules' clock is {data['ClockOffset']:+.0f} s off real time "
                   f"(now {data['Now']})", err=True)
    click.echo(f"{'KIND':8} {'NAME':32} {'EXPRESSION':28} {'STATE':8} {'NEXT FIRING':20}  TARGETS")
    for row in data["Schedules"]:
        name = f"{row['Group']}/{row['Name']}"
        expression = row["ScheduleExpression"] + ("" if row["Timezone"] == "UTC" else f" {row['Timezone']}")
        upcoming = row["NextFiring"] or ("problem" if row["Problem"] else "-")
        targets = ", ".join(_target_name(t) for t in row["Targets"] if t) or "-"
        click.echo(f"{row['Kind']:8} {name:32} {expression:28} {row['State']:8} {upcoming:20}  {targets}"
                   + (f"  [{row['Problem']}]" if row["Problem"] else ""))


@schedule.command("run")
@click.argument("name")
@click.option("--rule", "kind", flag_value="rule", default=None, help="NAME is a schedule rule.")
@click.option("--scheduler", "kind", flag_value="schedule", help="NAME is an EventBridge Scheduler schedule.")
@click.option("--group", default=None, help="The rule's event bus or the schedule's group.")
@click.option("--endpoint", default=None, help="Control plane URL (default http://127.0.0.1:4566).")
def schedule_run(name: str, kind: str | None, group: str | None, endpoint: str | None) -> None:
    """Fire schedule NAME now (a rule or a Scheduler schedule) and print what it invoked."""
    plane = running_plane(endpoint)
    body = json.dumps({"Name": name, "Kind": kind, "Group": group}).encode()
    reply = plane.request("POST", "/_cloudmicro/schedules/run", body, {"Content-Type": "application/json"})
    if reply.status != 200:
        raise click.ClickException(reply.error_message())
    result = reply.json()
    what = "rule" if result["Kind"] == "rule" else "Scheduler schedule"
    click.echo(f"cloudmicro: fired {what} {result['Group']}/{result['Name']} ({result['State']}) at {result['Time']}",
               err=True)
    failed = False
    for delivery in result["Deliveries"]:
        target = _target_name(delivery["Target"])
        if delivery["Error"]:
            failed = True
            click.echo(f"{target}: not invoked: {delivery['Error']}")
        else:
            click.echo(f"{target}: invoked asynchronously, request id {delivery['RequestId']}, "
                       f"event {delivery['Payload']}")
    if not result["Deliveries"]:
        click.echo("cloudmicro: it has no targets", err=True)
    if failed or not result["Deliveries"]:
        sys.exit(1)


@main.group()
def images() -> None:
    """Runtime images."""


@images.command("build")
@click.option("--runtime", default="python3.11", show_default=True)
@click.option("--base-image", default=None,
              help="Base image (default CLOUDMICRO_BASE_IMAGE or python:3.11-slim-bookworm).")
def images_build(runtime: str, base_image: str | None) -> None:
    """Build the runtime image now (it is otherwise built on first use)."""
    from emulator.executors.base import ExecutorError
    from emulator.executors.docker import docker_client
    from emulator.executors.images import ensure_python_image

    client = docker_client()
    if client is None:
        raise click.ClickException("no Docker engine answers; start dockerd (see README)")
    try:
        tag = ensure_python_image(client, runtime, settings_from(base_image=base_image))
    except ExecutorError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(tag)


main.add_command(new)  # scaffolding: cloudmicro new ..., cloudmicro events generate
main.add_command(events)
main.add_command(dev)  # the dev loop: cloudmicro dev, cloudmicro logs
main.add_command(logs)


if __name__ == "__main__":  # pragma: no cover
    main()
