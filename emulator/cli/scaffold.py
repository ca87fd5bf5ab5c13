"""Scaffolding: ``cloudmicro new function``, ``cloudmicro new project`` and ``cloudmicro events generate``.

A new function is the zero-config convention of :mod:`emulator.domain.registry`:
``functions/<name>/<name>.py`` holding ``<name>_handler``, plus a ``function.json`` of AWS fields
and the test event ``local_events/<name>.json`` (for ``cloudmicro invoke <name>``). Where the name
cannot be a module or a Python function name (``my-fn``, ``2fast``, ``json``), the file and the
function get a safe name and ``function.json`` says ``Handler``. Nothing is ever overwritten: an
existing function, event file or non-empty project folder is refused before anything is written.

The files come from the templates in ``emulator/cli/templates/`` (package data), where
``{{key}}`` marks a value to fill in. Sample events come from :mod:`.sample_events`.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import click

from emulator.cli import sample_events
from emulator.config import Settings

FUNCTION_NAME_MAX = 64
_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
#: modules a handler module must not shadow: the standard library and what the runtime imports
_TAKEN_MODULES = frozenset(sys.stdlib_module_names) | {
    "boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six", "bootstrap", "cloudmicro_runtime",
    "awslambdaric",
}
_HANDLER_TEMPLATES = {
    None: "handler_generic", "sqs": "handler_sqs", "s3": "handler_s3", "s3-delete": "handler_s3",
    "sns": "handler_sns", "dynamodb": "handler_dynamodb", "schedule": "handler_eventbridge",
    "eventbridge": "handler_eventbridge", "apigateway": "handler_apigateway",
    "apigateway-v2": "handler_apigateway_v2", "function-url": "handler_function_url", "alb": "handler_alb",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
DEFAULT_RUNTIME = "python3.11"


class ScaffoldError(Exception):
    """What was asked cannot be made (a bad name, or it would overwrite something)."""


# --------------------------------------------------------------------------- names


def validate_function_name(name: str) -> str:
    """``name`` if AWS accepts it as a function name (and the registry loads its folder)."""
    if len(name) > FUNCTION_NAME_MAX:
        raise ScaffoldError(f"function name {name!r} is {len(name)} characters long; AWS allows at most "
                            f"{FUNCTION_NAME_MAX}")
    if not _NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(f"function name {name!r} is not valid: AWS allows 1 to {FUNCTION_NAME_MAX} letters, "
                            "digits, hyphens and underscores (pattern [a-zA-Z0-9-_]+)")
    if name.startswith("_"):
        raise ScaffoldError(f"function name {name!r} starts with '_': Cloudmicro skips function folders whose "
                            "name starts with '_' or '.'")
    return name


@dataclass(frozen=True)
class HandlerName:
    """Where a new function's handler lives."""

    module: str
    function: str
    #: True when the registry finds it with no Handler in function.json
    conventional: bool

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.function}"


def handler_name(name: str) -> HandlerName:
    """``<name>.<name>_handler`` when that can work; otherwise a safe module and function name."""
    function = f"{name}_handler"
    if function.isidentifier() and name not in _TAKEN_MODULES:
        return HandlerName(name, function, conventional=True)
    safe = name.replace("-", "_")
    if not safe.isidentifier() or keyword.iskeyword(safe):
        safe = f"fn_{safe}"
    module = safe if safe not in _TAKEN_MODULES else f"{safe}_function"
    return HandlerName(module, f"{safe}_handler", conventional=False)


# --------------------------------------------------------------------------- templates and writing


def render(template: str, **values: str) -> str:
    """A template from ``templates/`` with each ``{{key}}`` replaced by ``values[key]``."""
    text = resources.files(__package__).joinpath("templates", template).read_text(encoding="utf-8")

    def value(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise KeyError(f"template {template} needs {match[1]!r}")
        return values[match[1]]

    return _PLACEHOLDER.sub(value, text)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def write_files(files: Mapping[Path, str]) -> list[Path]:
    """Create every file (and its folders), never replacing one; all or nothing."""
    for path in files:
        if path.exists():
            raise ScaffoldError(f"{_display(path)} already exists; not overwriting it")
    created: list[Path] = []
    made_dirs: list[Path] = []
    try:
        for path, text in files.items():
            for parent in reversed(path.parents):
                if not parent.exists():
                    parent.mkdir()
                    made_dirs.append(parent)
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
            created.append(path)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        for folder in reversed(made_dirs):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    return created


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- new function


def function_files(name: str, functions_dir: Path, events_dir: Path, *, source: str | None = None,
                   runtime: str = DEFAULT_RUNTIME, region: str = "us-east-1",
                   account_id: str = "123456789012") -> dict[Path, str]:
    """The files of a new function: handler, function.json and its local event."""
    validate_function_name(name)
    if source not in _HANDLER_TEMPLATES:
        raise ScaffoldError(f"unknown event source {source!r}; choose one of {', '.join(sample_events.SOURCES)}")
    names = handler_name(name)
    folder = functions_dir / name
    if folder.exists():
        raise ScaffoldError(f"function {name} already exists: {_display(folder)} (choose another name, "
                            "or remove the folder first)")
    config: dict[str, Any] = {"Description": f"{name}: made by cloudmicro new function"}
    if not names.conventional:
        config["Handler"] = names.handler
    config.update({"Runtime": runtime, "Timeout": 3, "MemorySize": 128, "Environment": {"Variables": {}}})
    event = (sample_events.generate(source, region=region, account_id=account_id) if source
             else {"name": "Cloudmicro"})
    code = render(f"{_HANDLER_TEMPLATES[source]}.py.tmpl", name=name, handler_function=names.function,
                  source=source or "")
    return {
        folder / f"{names.module}.py": code,
        folder / "function.json": _json(config),
        events_dir / f"{name}.json": _json(event),
    }


# --------------------------------------------------------------------------- new project


@dataclass(frozen=True)
class Installation:
    """How this Cloudmicro is installed, for what a new project's files install."""

    version: str
    #: a source checkout (with the control plane's Dockerfile) Cloudmicro runs from, if any
    checkout: Path | None
    #: a pip requirement naming this Cloudmicro where the checkout is not at hand
    pip_spec: str
    #: the base image this machine builds images from, when it is not the default
    base_image: str | None


def _checkout() -> Path | None:
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if (root / "Dockerfile").is_file() and pyproject.is_file() and 'name = "cloudmicro"' in pyproject.read_text():
        return root
    return None


def requirement_for(version: str, direct_url: Mapping[str, Any]) -> str:
    """A requirement for this Cloudmicro from its PEP 610 ``direct_url.json``: the git commit or
    the archive URL it came from, else the version (a local folder is no use elsewhere)."""
    url = str(direct_url.get("url", ""))
    if "vcs_info" in direct_url:
        info = direct_url["vcs_info"]
        commit = info.get("commit_id") or info.get("requested_revision")
        return f"cloudmicro @ {info.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
    if "archive_info" in direct_url and not url.startswith("file:"):
        return f"cloudmicro @ {url}"
    return f"cloudmicro=={version}"


def installation() -> Installation:
    """This Cloudmicro: its version, checkout, a pip requirement for it, the local base image."""
    try:
        dist = metadata.distribution("cloudmicro")
        version, direct = dist.version, json.loads(dist.read_text("direct_url.json") or "{}")
    except metadata.PackageNotFoundError:
        version, direct = "0.1.0", {}
    checkout = _checkout()
    base = os.environ.get("CLOUDMICRO_BASE_IMAGE")
    if base is None and checkout is not None and (checkout / ".env").is_file():
        for line in (checkout / ".env").read_text().splitlines():
            if line.startswith("CLOUDMICRO_BASE_IMAGE="):
                base = line.split("=", 1)[1].strip()
    return Installation(version, checkout, requirement_for(version, direct), base or None)


def project_files(directory: Path, function: str, install: Installation) -> dict[Path, str]:
    """The files of a new project in ``directory`` with one function, ``function``."""
    validate_function_name(function)
    names = handler_name(function)
    values = {
        "project": directory.name, "function": function, "name": function, "module": names.module,
        "handler": names.handler, "handler_function": names.function,
        "test_name": re.sub(r"\W", "_", function),
    }
    env_lines = [f"CLOUDMICRO_SOURCE={install.checkout}" if install.checkout
                 else "# CLOUDMICRO_SOURCE=/path/to/a/cloudmicro/checkout"]
    env_lines.append(f"CLOUDMICRO_BASE_IMAGE={install.base_image}" if install.base_image
                     else "# CLOUDMICRO_BASE_IMAGE=python:3.11-slim-bookworm")
    image_note = ""
    if install.checkout:
        image_note = (f"# This project was made with Cloudmicro run from the checkout {install.checkout}; .env\n"
                      "# builds the image from there. Elsewhere, name a version, a git URL or a wheel URL here.\n")
    config = {
        "Description": f"{function}: greets in the language asked, from the greetings table",
        **({} if names.conventional else {"Handler": names.handler}),
        "Runtime": DEFAULT_RUNTIME, "Timeout": 10, "MemorySize": 128,
        "Environment": {"Variables": {"GREETINGS_TABLE": "greetings"}},
    }
    d = directory
    return {
        d / "README.md": render("project/README.md.tmpl", **values),
        d / "docker-compose.yml": render("project/docker-compose.yml.tmpl", **values),
        d / ".env": render("project/env.tmpl", env_lines="\n".join(env_lines)),
        d / ".gitignore": render("project/gitignore.tmpl"),
        d / "docker" / "cloudmicro" / "Dockerfile": render("project/Dockerfile.tmpl"),
        d / "docker" / "cloudmicro" / "requirements.txt": render(
            "project/image-requirements.txt.tmpl", image_note=image_note, pip_spec=install.pip_spec),
        d / "requirements-dev.txt": render(
            "project/requirements-dev.txt.tmpl",
            dev_spec=(f"# this machine's Cloudmicro checkout; on other machines name a git URL, a wheel or a version:\n"
                      f"#   {install.pip_spec}\n-e {install.checkout}") if install.checkout else install.pip_spec),
        d / "pyproject.toml": render("project/pyproject.toml.tmpl"),
        d / "functions" / function / f"{names.module}.py": render("project/handler.py.tmpl", **values),
        d / "functions" / function / "function.json": _json(config),
        d / "local_events" / f"{function}.json": _json({"name": "Ada", "language": "it"}),
        d / "db_gen" / "tables" / "greetings.json": render("project/greetings_table.json"),
        d / "db_gen" / "table_data" / "greetings.json": render("project/greetings_data.json"),
        d / "tests" / f"test_{values['test_name']}.py": render("project/test_function.py.tmpl", **values),
    }


def check_project_dir(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{_display(directory)} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()):
        raise ScaffoldError(f"{_display(directory)} is not empty; a new project needs an empty or new folder")


# --------------------------------------------------------------------------- the commands


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _write(files: Mapping[Path, str]) -> list[Path]:
    try:
        return write_files(files)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def new() -> None:
    """Make a new function or project from templates."""


@new.command("function")
@click.argument("name")
@click.option("--event", "source", type=click.Choice(sample_events.SOURCES), default=None,
              help="Start the handler and local event from this event source's sample.")
@click.option("--runtime", type=click.Choice(["python3.9", "python3.10", "python3.11", "python3.12", "python3.13"]),
              default=DEFAULT_RUNTIME, show_default=True)
def new_function(name: str, source: str | None, runtime: str) -> None:
    """Create functions/NAME/ (handler, function.json) and local_events/NAME.json."""
    settings = _settings()
    events_dir = settings.project_dir / "local_events"
    try:
        files = function_files(name, settings.functions_dir, events_dir, source=source, runtime=runtime,
                               region=settings.region, account_id=settings.account_id)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    for path in _write(files):
        click.echo(f"cloudmicro: created {_display(path)}", err=True)
    names = handler_name(name)
    if not names.conventional:
        click.echo(f"cloudmicro: {name} is not a usable module or function name, so the handler is "
                   f"{names.handler} (set in function.json)", err=True)
    event_file = events_dir / f"{name}.json"
    hint = f"cloudmicro invoke {name}"
    if event_file.resolve() != (Path.cwd() / "local_events" / f"{name}.json").resolve():
        hint += f" --event {_display(event_file)}"
    click.echo(f"cloudmicro: try it: {hint}", err=True)


@new.command("project")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--function", "function", default="hello", show_default=True, help="Name of its function.")
def new_project(directory: Path, function: str) -> None:
    """Create a runnable project in DIRECTORY (new or empty): a function, db_gen, tests, compose file."""
    directory = directory.resolve()
    try:
        check_project_dir(directory)
        files = project_files(directory, function, installation())
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    _write(files)
    click.echo(f"cloudmicro: created the project {_display(directory)} ({len(files)} files)", err=True)
    click.echo(f"cloudmicro: try it: cd {_display(directory)} && cloudmicro invoke {function} && pytest", err=True)


class _JsonParam(click.ParamType):
    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON ({exc.msg} at column {exc.colno}): {value}", param, ctx)


@click.group()
def events() -> None:
    """AWS-shaped sample events."""


@events.command("generate")
@click.argument("kind", metavar="SOURCE", type=click.Choice(sample_events.SOURCES))
@click.option("--queue", help="sqs: queue name or ARN (a .fifo queue gets FIFO attributes).")
@click.option("--body", help="sqs: message body; apigateway, apigateway-v2, function-url, alb: request body.")
@click.option("--bucket", help="s3, s3-delete: bucket name.")
@click.option("--key", help="s3, s3-delete: object key (encoded as S3 encodes it).")
@click.option("--size", type=int, help="s3: object size in bytes.")
@click.option("--topic", help="sns: topic name or ARN.")
@click.option("--message", help="sns: message.")
@click.option("--subject", help="sns: subject.")
@click.option("--table", help="dynamodb: table name.")
@click.option("--item", type=_JsonParam(), help="dynamodb: the item as plain JSON (NewImage).")
@click.option("--old-item", type=_JsonParam(), help="dynamodb: the item before (OldImage; default --item).")
@click.option("--key-names", help="dynamodb: the item's key attributes, comma-separated (default id).")
@click.option("--event-name", help="dynamodb: INSERT (default), MODIFY or REMOVE.")
@click.option("--rule", help="schedule: rule name or ARN.")
@click.option("--source", help="eventbridge: the event's source.")
@click.option("--detail-type", help="eventbridge: the event's detail-type.")
@click.option("--detail", type=_JsonParam(), help="eventbridge: the event's detail (a JSON object).")
@click.option("--path", help="apigateway, apigateway-v2, function-url, alb: request path.")
@click.option("--method", help="apigateway, apigateway-v2, function-url, alb: HTTP method.")
@click.option("--query", help="apigateway, apigateway-v2, function-url, alb: query string (a=1&b=2).")
def events_generate(kind: str, **options: Any) -> None:
    """Print a sample SOURCE event as AWS sends it to a function (JSON on stdout).

    Start a local event from it: cloudmicro events generate sqs --body hi > local_events/f.json
    """
    settings = _settings()
    given = {name: value for name, value in options.items() if value is not None}
    try:
        event = sample_events.generate(kind, region=settings.region, account_id=settings.account_id, **given)
    except sample_events.SampleEventError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps(event, indent=2, ensure_ascii=False))
