"""A template file made ready to deploy, the same way for the CLI's dev loop and the pytest
plugin: read (:mod:`.loading`), a CDK app's assets and nested stacks taken from ``cdk.out``
(:mod:`.cdk`), local code paths made hot-reload folders (:mod:`.local_code`).

A CDK app's output folder may be given itself (``--template cdk.out``): its ``manifest.json``
names the stack templates (artifacts of type ``aws:cloudformation:stack``); with one stack that
one is deployed, with several the choice is an error listing them. A ``cdk.out`` template's
stack name is the CDK stack's name (``stackName`` in the manifest, as ``cdk deploy`` names it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.templates.cdk import Upload, is_cdk, rewrite_cdk
from emulator.templates.loading import TemplateError, load_template
from emulator.templates.local_code import rewrite_local_code
from emulator.templates.stacks import stack_name_for

MANIFEST = "manifest.json"


@dataclass
class Prepared:
    template: dict[str, Any]
    uploads: list[Upload] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def prepare(text: str, path: Path) -> Prepared:
    """The template at ``path`` (its text: ``text``) ready for :class:`~.stacks.StackDeployer`."""
    template = load_template(text, str(path))
    out = Prepared(template)
    if is_cdk(template):
        cdk = rewrite_cdk(template, path.parent)
        out.template, out.uploads, out.notes = cdk.template, cdk.uploads, cdk.notes
    out.template = rewrite_local_code(out.template, path.parent).template
    return out


def _stacks(cdk_out: Path) -> dict[str, dict[str, Any]]:
    """The manifest's stack artifacts: id -> properties (empty when it is not a cdk.out)."""
    try:
        manifest = json.loads((cdk_out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        return {}
    return {str(key): dict(value.get("properties") or {}) for key, value in artifacts.items()
            if isinstance(value, dict) and value.get("type") == "aws:cloudformation:stack"}


def template_file(path: Path) -> Path:
    """``path`` itself, or for a ``cdk.out`` folder its one stack's template; TemplateError saying why not."""
    if not path.is_dir():
        return path
    stacks = _stacks(path)
    if not stacks:
        raise TemplateError(f"{path} is a folder with no {MANIFEST} naming a stack: give a template file "
                            "(or a cdk.out folder)")
    if len(stacks) > 1:
        files = ", ".join(sorted(str(path / str(p.get("templateFile", ""))) for p in stacks.values()))
        raise TemplateError(f"{path} holds {len(stacks)} stacks: give one of their templates ({files})")
    found = path / str(next(iter(stacks.values())).get("templateFile", ""))
    if not found.is_file():
        raise TemplateError(f"{path}: {found.name} is not there: run cdk synth again")
    return found


def default_stack_name(path: Path) -> str:
    """A cdk.out template's CDK stack name; otherwise from the template folder's name."""
    for artifact, properties in _stacks(path.parent).items():
        if properties.get("templateFile") == path.name:
            return stack_name_for(str(properties.get("stackName") or artifact))
    return stack_name_for(path.parent.name)
