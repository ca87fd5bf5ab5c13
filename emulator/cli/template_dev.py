"""The dev loop for a template: ``cloudmicro dev --template template.yaml`` (and ``serve``).

Once the control plane answers, the template is read (YAML with CloudFormation's short tags, or
JSON), its local code paths become hot-reload folders (:mod:`emulator.templates.local_code`:
no build step) and it is deployed to the local CloudFormation through the endpoint (CreateStack,
or UpdateStack when the stack is there). What changed and the stack's outputs are printed after
each deployment. Saving the template deploys it again; a template that cannot be read or
deployed is reported, and the stack deployed before keeps serving (a failed update rolls back).
Saving a function's code needs no deployment: its folder reloads by itself.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from emulator import startup_gc
from emulator.cli.client import PlaneClient
from emulator.templates.loading import TemplateError
from emulator.templates.prepare import default_stack_name, prepare
from emulator.templates.stacks import Deployment, StackDeployer, parse_overrides

_EXECUTE_API = re.compile(r"^https?://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(/[^\s]*)?$")


def template_options(function: Callable[..., None]) -> Callable[..., None]:
    """``--template``, ``--stack-name`` and ``--parameter-overrides`` (for ``dev`` and ``serve``)."""
    function = click.option(
        "--parameter-overrides", "parameter_overrides", multiple=True, metavar="KEY=VALUE ...",
        help="Template parameters, as 'Key=Value Key2=Value2' (the option may be given again).")(function)
    function = click.option("--stack-name", default=None,
                            help="The stack's name (default: the template folder's name).")(function)
    return click.option("--template", "-t", "template", type=click.Path(path_type=Path),
                        default=None, help="Deploy this CloudFormation/SAM template, or a CDK app's "
                        "cdk.out/<Stack>.template.json (or cdk.out), and again on save.")(function)


def overrides_from(values: tuple[str, ...]) -> dict[str, str]:
    items = [item for value in values for item in shlex.split(value)]
    try:
        return parse_overrides(items)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


class TemplateLoop:
    """Deploys ``template`` to the control plane at ``endpoint``, and again when it is saved."""

    def __init__(self, endpoint: str, template: Path, stack_name: str | None, overrides: dict[str, str],
                 region: str, *, echo: Callable[[str], None] | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.template = template.resolve()
        self.stack = stack_name or default_stack_name(self.template)
        self.overrides = overrides
        self.region = region
        self.echo = echo or (lambda line: click.echo(line, err=True))
        self._deployer: StackDeployer | None = None
        self._digest: str | None = None

    def deployer(self) -> StackDeployer:
        if self._deployer is None:
            import boto3
            from botocore.config import Config

            config = Config(retries={"max_attempts": 1}, read_timeout=900)

            def client(service: str) -> Any:
                return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                                    aws_access_key_id="test", aws_secret_access_key="test", config=config)

            self._deployer = StackDeployer(client("cloudformation"), self.stack, s3=lambda: client("s3"))
        return self._deployer

    def deploy(self, text: str | None = None) -> Deployment | None:
        """Read, rewrite and deploy the template; print the outcome. None when it cannot be read."""
        try:
            if text is None:
                text = self.template.read_text()
            self._digest = hashlib.sha256(text.encode()).hexdigest()
            ready = prepare(text, self.template)
        except (TemplateError, OSError, UnicodeDecodeError) as exc:
            self.echo(f"cloudmicro: template error: {exc}\n"
                      f"cloudmicro: not deployed; stack {self.stack} keeps what it had")
            return None
        for note in ready.notes:
            self.echo(f"cloudmicro: {note}")
        done = self.deployer().deploy(ready.template, self.overrides, ready.uploads)
        self.echo("\n".join(describe(done, self.endpoint)))  # one write: other threads print too
        return done

    def watch(self, stop: threading.Event, interval: float = 0.1) -> None:
        """Deploy again each time the template's content changes (polled: one stat per interval,
        the file read only when its size or time changed; a save counts once it is stable)."""
        seen = _signature(self.template)
        while not stop.wait(interval):
            now = _signature(self.template)
            if now == seen or now is None:
                continue
            time.sleep(0.05)  # an editor that writes in two steps: take the finished file
            seen = _signature(self.template)
            try:
                text = self.template.read_text()
            except (OSError, UnicodeDecodeError):
                continue
            if hashlib.sha256(text.encode()).hexdigest() == self._digest:
                continue
            self.echo(f"cloudmicro: {self.template.name} changed: deploying stack {self.stack}")
            self.deploy(text)

    def warm_in_background(self, warm: Callable[[], None]) -> None:
        """Run ``warm`` (loading the CloudFormation engine) in a thread of its own, now, while the
        control plane starts: the first deployment then does not wait for those imports."""
        def run() -> None:
            try:
                warm()
            except Exception as exc:  # noqa: BLE001 - a speed-up: the deployment goes on without it
                self.echo(f"cloudmicro: could not load CloudFormation ahead of time: {exc}")

        threading.Thread(target=run, name="cloudmicro-cloudformation-warm", daemon=True).start()

    def run_in_background(self, plane: PlaneClient, *, watch: bool = True) -> threading.Event:
        """A thread that waits for the control plane, deploys, then (``watch``) deploys on save."""
        stop = threading.Event()
        startup_gc.hold()  # the first deployment is part of the start

        def run() -> None:
            try:
                while not plane.healthy():
                    if stop.wait(0.05):
                        return
                try:
                    self.deploy()
                except Exception as exc:  # noqa: BLE001 - the dev loop reports and goes on
                    self.echo(f"cloudmicro: deploying {self.template.name} failed: {exc}")
            finally:
                startup_gc.done()
            if watch:
                self.echo(f"cloudmicro: watching {self.template} (save it to deploy again)")
                self.watch(stop)

        threading.Thread(target=run, name="cloudmicro-template", daemon=True).start()
        return stop


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None  # being replaced: look again
    return stat.st_mtime_ns, stat.st_size


def local_url(value: str, endpoint: str) -> str | None:
    """Where an API Gateway URL on AWS is served here (``/_aws/execute-api/{id}/...``)."""
    found = _EXECUTE_API.match(value.strip())
    if not found:
        return None
    return f"{endpoint}/_aws/execute-api/{found[1]}{found[2] or '/'}"


def describe(done: Deployment, endpoint: str) -> list[str]:
    """The lines printed after a deployment."""
    lines = [f"cloudmicro: {note}" for note in done.notes]
    if not done.ok:
        lines.append(f"cloudmicro: stack {done.stack}: {done.action} failed"
                     + (f" ({done.status})" if done.status else "") + (f": {done.reason}" if done.reason else ""))
        lines += [f"  ! {logical}: {reason}" for logical, reason in done.failures]
        if done.action == "update":
            lines.append(f"cloudmicro: stack {done.stack} keeps serving its previous template")
        return lines
    if done.action == "none":
        lines.append(f"cloudmicro: stack {done.stack}: no changes")
    else:
        counts = ", ".join(f"{len(items)} {word}" for items, word in
                           ((done.created, "new"), (done.updated, "changed"), (done.deleted, "removed")) if items)
        lines.append(f"cloudmicro: stack {done.stack}: {done.status} in {done.seconds:.1f} s"
                     + (f": {counts}" if counts else ""))
        lines += [f"  + {logical} ({kind})" for logical, kind in done.created]
        lines += [f"  ~ {logical} ({kind})" for logical, kind in done.updated]
        lines += [f"  - {logical} ({kind})" for logical, kind in done.deleted]
    if done.outputs:
        lines.append(f"cloudmicro: outputs of {done.stack}:")
        for key, value in done.outputs.items():
            here = local_url(value, endpoint)
            lines.append(f"  {key} = {value}" + (f"  (here: {here})" if here else ""))
    return lines
