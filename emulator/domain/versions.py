"""Published versions and aliases of functions (PublishVersion, CreateAlias and the rest).

A version is an immutable snapshot of a function's code and configuration, numbered 1, 2, ...
per function (numbers are never reused). Its code is a copy of the function's code folder under
``<state>/versions/<name>/<number>/``, so saving the function's folder afterwards (hot reload)
changes $LATEST only. An alias names a version (or $LATEST) and may send a share of invocations
to one more version (``RoutingConfig.AdditionalVersionWeights``): the version is picked per
invocation. https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html

The error texts are AWS's, as LocalStack measured them against AWS (its Lambda provider) and as
users have reported them (``Unable to delete version because the following aliases reference
it``: cloud-custodian#6739).

Persisted in ``<state>/versions/index.json``, so versions and aliases survive a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emulator.domain.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from emulator.domain.functions import LATEST, FunctionConfig, folder_digest, now_aws

log = logging.getLogger(__name__)

REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to "
    "retrieve the latest Revision Id"
)
_WEIGHTS_PATH = "routingConfig.additionalVersionWeights"
#: configuration fields that make a function "changed since the last version" (AWS publishes
#: nothing new when neither they nor the code changed)
_COMPARED = ("handler", "runtime", "timeout", "memory_size", "environment", "description", "role",
             "dead_letter_target", "layers")


@dataclass(frozen=True)
class Alias:
    """One alias: the version it names and, optionally, a second version with a weight."""

    name: str
    function_version: str
    description: str = ""
    #: {version: weight}: at most one entry (AWS's limit), weight in [0, 1]
    weights: Mapping[str, float] = field(default_factory=dict)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def pick(self, rand: float | None = None) -> str:
        """The version one invocation runs: the additional version with its weight's probability."""
        roll = random.random() if rand is None else rand
        for version, weight in self.weights.items():
            if roll < weight:
                return version
            roll -= weight
        return self.function_version

    def to_aws(self, function_arn: str) -> dict[str, Any]:
        """The AliasConfiguration shape."""
        result: dict[str, Any] = {
            "AliasArn": f"{function_arn}:{self.name}",
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        }
        if self.weights:
            result["RoutingConfig"] = {"AdditionalVersionWeights": dict(self.weights)}
        return result


@dataclass
class _Published:
    """One function's versions and aliases."""

    next: int = 1
    versions: dict[str, FunctionConfig] = field(default_factory=dict)
    #: each version's source fingerprint: what $LATEST was when it was published
    sources: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)


class Versions:
    """Every function's published versions and aliases, by function name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index = folder / "index.json"
        self._functions: dict[str, _Published] = {}
        if self.index.exists():
            try:
                self._functions = {name: _load(item) for name, item in json.loads(self.index.read_text()).items()}
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("ignoring %s: %s", self.index, exc)

    # --- resolution ----------------------------------------------------------------

    def resolve(self, latest: FunctionConfig, qualifier: str, *, route: bool = False) -> FunctionConfig:
        """The configuration ``name:qualifier`` names (a version number or an alias; ``route``:
        pick the version an invocation of the alias runs, else the alias's own version)."""
        published = self._functions.get(latest.name)
        config: FunctionConfig | None = None
        if qualifier.isdigit():
            config = published.versions.get(qualifier) if published else None
        else:
            alias = published.aliases.get(qualifier) if published else None
            if alias is not None:
                number = alias.pick() if route else alias.function_version
                target = latest if number == LATEST else published.versions.get(number)  # type: ignore[union-attr]
                config = replace(target, alias=alias.name) if target is not None else None
        if config is None:
            raise ResourceNotFoundException.function(f"{latest.arn}:{qualifier}")
        if config.reserved_concurrency != latest.reserved_concurrency:  # a function's, not a version's
            config = replace(config, reserved_concurrency=latest.reserved_concurrency)
        return config

    def published(self, name: str) -> list[FunctionConfig]:
        """The published versions, oldest first."""
        published = self._functions.get(name)
        return list(published.versions.values()) if published else []

    def aliases(self, name: str) -> list[Alias]:
        published = self._functions.get(name)
        return sorted(published.aliases.values(), key=lambda a: a.name) if published else []

    # --- PublishVersion ------------------------------------------------------------

    def check_publish(self, latest: FunctionConfig, request: Mapping[str, Any]) -> FunctionConfig | None:
        """PublishVersion's preconditions; the last version when nothing changed since it was
        published (AWS publishes none then), else None."""
        sha = request.get("CodeSha256")
        if sha and sha != latest.code_sha256:
            raise InvalidParameterValueException(
                f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({latest.code_sha256}). "
                "Please try again with the CodeSHA256 in $LATEST.")
        revision = request.get("RevisionId")
        if revision and revision != latest.revision_id:
            raise PreconditionFailedException(REVISION_MISMATCH)
        published = self._functions.get(latest.name)
        if published and published.versions:
            last = str(max(int(number) for number in published.versions))
            if published.sources.get(last) == _fingerprint(latest):
                return published.versions[last]
        return None

    def publish(self, latest: FunctionConfig, request: Mapping[str, Any]) -> FunctionConfig:
        """A new version of ``latest`` (its code copied: blocking, run it in a thread). The
        caller has run :meth:`check_publish`."""
        published = self._functions.setdefault(latest.name, _Published())
        number = str(published.next)
        published.next += 1
        target = self.folder / latest.name / number
        shutil.rmtree(target, ignore_errors=True)
        tmp = target.with_name(f".{number}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            shutil.copytree(latest.code_dir, tmp, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            tmp.rename(target)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            self._save()  # the number stays used, as on AWS
            raise InvalidParameterValueException(f"Could not copy the code of {latest.name} for a version: {exc}") \
                from None
        sha, size = folder_digest(target) if latest.hot_reload or latest.origin == "folder" else (
            latest.code_sha256, latest.code_size)
        description = request.get("Description")
        version = replace(
            latest, version=number, alias=None, code_dir=target.resolve(), code_sha256=sha, code_size=size,
            description=latest.description if description is None else description, hot_reload=False,
            origin="api", event_source_mappings=(), function_url=None, revision_id=str(uuid.uuid4()),
            last_modified=now_aws())
        published.versions[number] = version
        published.sources[number] = _fingerprint(replace(latest, code_sha256=sha))
        self._save()
        return version

    def delete_version(self, latest: FunctionConfig, number: str) -> None:
        """DeleteFunction with a version number (nothing when there is no such version, as AWS)."""
        if number == LATEST:
            raise InvalidParameterValueException("$LATEST version cannot be deleted without deleting the function.")
        published = self._functions.get(latest.name)
        if published is None or number not in published.versions:
            return
        users = [alias.name for alias in published.aliases.values()
                 if alias.function_version == number or number in alias.weights]
        if users:
            raise ResourceConflictException(
                f"Unable to delete version because the following aliases reference it: [{', '.join(users)}]")
        del published.versions[number]
        published.sources.pop(number, None)
        shutil.rmtree(self.folder / latest.name / number, ignore_errors=True)
        self._save()

    # --- aliases -------------------------------------------------------------------

    def alias(self, latest: FunctionConfig, name: str) -> Alias:
        alias = self._functions.get(latest.name, _Published()).aliases.get(name)
        if alias is None:
            raise ResourceNotFoundException(f"Cannot find alias arn: {latest.arn}:{name}")
        return alias

    def create_alias(self, latest: FunctionConfig, request: Mapping[str, Any]) -> Alias:
        name, version = request["Name"], request["FunctionVersion"]
        self._version(latest, version)
        published = self._functions.setdefault(latest.name, _Published())
        if name in published.aliases:
            raise ResourceConflictException(f"Alias already exists: {latest.arn}:{name}")
        routing = request.get("RoutingConfig")
        alias = Alias(name, version, request.get("Description") or "",
                      self._weights(latest, version, routing) if routing is not None else {})
        published.aliases[name] = alias
        self._save()
        return alias

    def update_alias(self, latest: FunctionConfig, name: str, request: Mapping[str, Any]) -> Alias:
        current = self.alias(latest, name)
        revision = request.get("RevisionId")
        if revision and revision != current.revision_id:
            raise PreconditionFailedException(REVISION_MISMATCH)
        version = request.get("FunctionVersion")
        if version is not None:
            self._version(latest, version)
        else:
            version = current.function_version
        weights = (self._weights(latest, version, request["RoutingConfig"]) if request.get("RoutingConfig")
                   is not None else current.weights)
        if request.get("RoutingConfig") is None and weights:  # kept weights must still fit the new version
            self._weights(latest, version, {"AdditionalVersionWeights": dict(weights)})
        description = request.get("Description")
        alias = replace(current, function_version=version, weights=weights, revision_id=str(uuid.uuid4()),
                        description=current.description if description is None else description)
        self._functions[latest.name].aliases[name] = alias
        self._save()
        return alias

    def delete_alias(self, latest: FunctionConfig, name: str) -> None:
        """DeleteAlias (AWS answers 204 for an alias that does not exist)."""
        published = self._functions.get(latest.name)
        if published is not None and published.aliases.pop(name, None) is not None:
            self._save()

    def _version(self, latest: FunctionConfig, version: str) -> None:
        """ResourceNotFoundException unless ``version`` exists."""
        if version != LATEST and version not in self._functions.get(latest.name, _Published()).versions:
            raise ResourceNotFoundException.function(f"{latest.arn}:{version}")

    def _weights(self, latest: FunctionConfig, version: str, routing: Any) -> dict[str, float]:
        """AdditionalVersionWeights, checked as AWS checks them."""
        if not isinstance(routing, Mapping):
            raise InvalidParameterValueException("RoutingConfig must be an object with AdditionalVersionWeights")
        weights = routing.get("AdditionalVersionWeights") or {}
        if not isinstance(weights, Mapping):
            raise InvalidParameterValueException("AdditionalVersionWeights must map a version to a weight")
        if len(weights) > 1:
            raise InvalidParameterValueException("Number of items in AdditionalVersionWeights cannot be greater than 1")
        checked: dict[str, float] = {}
        for key, value in weights.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
                raise ValidationException(
                    f"1 validation error detected: Value '{{{key}={value}}}' at '{_WEIGHTS_PATH}' failed to satisfy "
                    "constraint: Map value must satisfy constraint: [Member must have value less than or equal to "
                    "1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
            if not isinstance(key, str) or not re.fullmatch(r"[0-9]+", key):
                raise ValidationException(
                    f"1 validation error detected: Value '{{{key}={value}}}' at '{_WEIGHTS_PATH}' failed to satisfy "
                    "constraint: Map keys must satisfy constraint: [Member must have length less than or equal to "
                    "1024, Member must have length greater than or equal to 1, Member must satisfy regular "
                    "expression pattern: [0-9]+, Member must not be null]")
            if key == version:
                raise InvalidParameterValueException(
                    f"Invalid function version {version}. Function version {version} is already included in "
                    "routing configuration.")
            if version == LATEST:
                raise InvalidParameterValueException(
                    "$LATEST is not supported for an alias pointing to more than 1 version")
            self._version(latest, key)
            checked[key] = float(value)
        return checked

    # --- lifecycle -----------------------------------------------------------------

    def forget(self, name: str) -> None:
        """The function was deleted: its versions, their code and its aliases go with it."""
        if self._functions.pop(name, None) is not None:
            self._save()
        shutil.rmtree(self.folder / name, ignore_errors=True)

    def clear(self) -> None:
        """``cloudmicro reset``: every version and alias."""
        self._functions.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.index.with_suffix(".tmp")
        tmp.write_text(json.dumps({name: _dump(published) for name, published in self._functions.items()}))
        tmp.replace(self.index)


def _fingerprint(function: FunctionConfig) -> str:
    """What makes $LATEST a new version: its code's hash and the configuration it runs with."""
    values = [function.code_sha256] + [_plain(getattr(function, name)) for name in _COMPARED]
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A configuration value as JSON holds it."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _dump(published: _Published) -> dict[str, Any]:
    return {
        "next": published.next,
        "versions": {n: {f.name: _plain(getattr(c, f.name)) for f in fields(c)} for n, c in published.versions.items()},
        "sources": published.sources,
        "aliases": {name: {"function_version": a.function_version, "description": a.description,
                           "weights": dict(a.weights), "revision_id": a.revision_id}
                    for name, a in published.aliases.items()},
    }


def _config(raw: Mapping[str, Any]) -> FunctionConfig:
    values = dict(raw)
    values["code_dir"] = Path(values["code_dir"])
    values["layers"] = tuple(Path(p) for p in values.get("layers", ()))
    values["event_source_mappings"] = tuple(values.get("event_source_mappings", ()))
    values["layer_refs"] = tuple(values.get("layer_refs", ()))
    known = {f.name for f in fields(FunctionConfig)}
    return FunctionConfig(**{k: v for k, v in values.items() if k in known})


def _load(raw: Mapping[str, Any]) -> _Published:
    return _Published(
        next=int(raw["next"]),
        versions={str(n): _config(c) for n, c in raw.get("versions", {}).items()},
        sources={str(n): str(s) for n, s in raw.get("sources", {}).items()},
        aliases={str(name): Alias(str(name), str(a["function_version"]), str(a.get("description", "")),
                                  {str(k): float(v) for k, v in a.get("weights", {}).items()},
                                  str(a.get("revision_id") or uuid.uuid4()))
                 for name, a in raw.get("aliases", {}).items()},
    )
