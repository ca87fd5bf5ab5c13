"""Function URL configurations: CreateFunctionUrlConfig, Get, Update, Delete and List, and the
lookup of a URL's configuration by its id (the server of the URLs calls :meth:`FunctionUrls.by_url_id`
for every request it serves).

A function URL is ``https://<url-id>.lambda-url.<region>.on.aws/`` on AWS, its url-id 32 lowercase
letters and digits (API_CreateFunctionUrlConfig; lambda-urls.html); locally it is
``http://<url-id>.lambda-url.<region>.localhost:<port>/`` on the control plane's own port
(``*.localhost`` resolves to the loopback address without any DNS setup).

Two sources, one view:

* the API: configurations made by CreateFunctionUrlConfig, persisted in
  ``<state>/function-urls.json``, each with a random url-id as on AWS;
* ``function.json``: a folder function may declare ``"FunctionUrl": {"AuthType": "NONE"}``
  (and ``InvokeMode``, ``Cors``), so it has a URL as soon as the control plane starts. Its url-id
  is derived from the function's ARN (account, region, name), so the URL stays the same across
  restarts; the registry hands the declarations over on every change (:meth:`FunctionUrls.sync`),
  hot reloads included.

The API may change or delete a declared URL (as on AWS: Update changes it, Delete removes it and
Get then finds none); that holds until the declaration in function.json itself changes, which
then applies again over what the API did (the latest change wins, as for EventInvokeConfig).

The Qualifier of these operations is an alias name (emulator/domain/versions.py): the URL then
invokes the alias (its routing configuration's pick per request). ``$LATEST`` and version numbers
are refused by the model's pattern.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import secrets
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from emulator.domain.errors import ResourceConflictException, ResourceNotFoundException, ValidationException
from emulator.domain.functions import FunctionConfig

log = logging.getLogger(__name__)

AUTH_TYPES = ("NONE", "AWS_IAM")
INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
#: the enum value sets as AWS's validation messages list them
_AUTH_TYPE_SET = "[AWS_IAM, NONE]"
_INVOKE_MODE_SET = "[RESPONSE_STREAM, BUFFERED]"
#: Cors members: (name, kind, most items or largest value)
_CORS_MEMBERS: dict[str, tuple[str, int]] = {
    "AllowCredentials": ("boolean", 0),
    "AllowHeaders": ("list", 100),
    "AllowMethods": ("list", 6),
    "AllowOrigins": ("list", 100),
    "ExposeHeaders": ("list", 100),
    "MaxAge": ("integer", 86400),
}
#: ListFunctionUrlConfigs returns at most this many a page (API_ListFunctionUrlConfigs)
MAX_LIST_ITEMS = 50
URL_ID_ALPHABET = string.ascii_lowercase + string.digits
URL_ID_LENGTH = 32

#: AWS's messages (the ones LocalStack records from AWS in its snapshot tests, and Terraform's
#: reports of the conflict)
NO_SUCH_RESOURCE = "The resource you requested does not exist."
NO_SUCH_FUNCTION = "Function does not exist"


def now_iso() -> str:
    """CreationTime / LastModifiedTime: ISO-8601 in UTC (YYYY-MM-DDThh:mm:ss.sTZD), microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def random_url_id() -> str:
    return "".join(secrets.choice(URL_ID_ALPHABET) for _ in range(URL_ID_LENGTH))


def declared_url_id(function_arn: str) -> str:
    """The url-id of a URL declared in function.json: the same for the same account, region and
    function name (its unqualified ARN), in AWS's alphabet."""
    number = int.from_bytes(hashlib.sha256(f"cloudmicro-function-url:{function_arn}".encode()).digest(), "big")
    chars = []
    for _ in range(URL_ID_LENGTH):
        number, index = divmod(number, len(URL_ID_ALPHABET))
        chars.append(URL_ID_ALPHABET[index])
    return "".join(chars)


@dataclass(frozen=True)
class FunctionUrlConfig:
    """One function URL's configuration (frozen: a change makes a new one)."""

    function_name: str
    #: the function's ARN, qualified by the alias when there is one (FunctionArn in answers)
    function_arn: str
    #: the alias the URL points to; None for the unqualified function ($LATEST)
    qualifier: str | None
    url_id: str
    auth_type: str
    cors: Mapping[str, Any] | None
    invoke_mode: str
    creation_time: str
    last_modified_time: str
    #: made from a function.json "FunctionUrl" (not by the API)
    declared: bool = False

    def function_url(self, endpoint: int | str, region: str) -> str:
        """The URL on the control plane at ``endpoint``: its port, or an endpoint with one
        (``http://127.0.0.1:4566``, ``127.0.0.1:4566``)."""
        port = endpoint if isinstance(endpoint, int) else int(str(endpoint).rstrip("/").rsplit(":", 1)[1])
        return f"http://{self.url_id}.lambda-url.{region}.localhost:{port}/"

    def to_aws(self, endpoint: int | str, region: str, *, created: bool = False) -> dict[str, Any]:
        """The FunctionUrlConfig shape (``created``: CreateFunctionUrlConfig's, without LastModifiedTime)."""
        shape: dict[str, Any] = {
            "FunctionUrl": self.function_url(endpoint, region),
            "FunctionArn": self.function_arn,
            "AuthType": self.auth_type,
            "CreationTime": self.creation_time,
            "InvokeMode": self.invoke_mode,
        }
        if self.cors is not None:
            shape["Cors"] = dict(self.cors)
        if not created:
            shape["LastModifiedTime"] = self.last_modified_time
        return shape

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cors"] = dict(self.cors) if self.cors is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FunctionUrlConfig:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _invalid(value: Any, member: str, constraint: str) -> str:
    return f"Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


def check_settings(request: Mapping[str, Any], *, create: bool) -> None:
    """ValidationException, AWS's "N validation error(s) detected: ..." for an AuthType or an
    InvokeMode outside its enum, a missing AuthType on create, or a Cors member of the wrong
    type or size (lengths and ranges of strings are the model's: emulator/api/validation.py)."""
    problems: list[str] = []
    auth_type = request.get("AuthType")
    if auth_type is None and create:
        problems.append("Value null at 'authType' failed to satisfy constraint: Member must not be null")
    elif auth_type is not None and auth_type not in AUTH_TYPES:
        problems.append(_invalid(auth_type, "authType", f"Member must satisfy enum value set: {_AUTH_TYPE_SET}"))
    invoke_mode = request.get("InvokeMode")
    if invoke_mode is not None and invoke_mode not in INVOKE_MODES:
        problems.append(_invalid(invoke_mode, "invokeMode", f"Member must satisfy enum value set: {_INVOKE_MODE_SET}"))
    cors = request.get("Cors")
    if cors is not None:
        problems += _cors_problems(cors)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise ValidationException(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))


def _cors_problems(cors: Any) -> list[str]:
    if not isinstance(cors, Mapping):
        return [_invalid(cors, "cors", "Member must be a structure of AllowCredentials, AllowHeaders, "
                                       "AllowMethods, AllowOrigins, ExposeHeaders and MaxAge")]
    problems: list[str] = []
    for name, (kind, limit) in _CORS_MEMBERS.items():
        value = cors.get(name)
        member = "cors." + name[0].lower() + name[1:]
        if value is None:
            continue
        if kind == "boolean" and not isinstance(value, bool):
            problems.append(_invalid(value, member, "Member must be a boolean"))
        elif kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(_invalid(value, member, "Member must be an integer"))
        elif kind == "integer" and not 0 <= value <= limit:
            bound = "greater than or equal to 0" if value < 0 else f"less than or equal to {limit}"
            problems.append(_invalid(value, member, f"Member must have value {bound}"))
        elif kind == "list" and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            problems.append(_invalid(value, member, "Member must be a list of strings"))
        elif kind == "list" and len(value) > limit:
            problems.append(_invalid(value, member, f"Member must have length less than or equal to {limit}"))
    return problems


def _cors_of(cors: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The Cors members the shape has (others are not part of it: dropped, as AWS's JSON does)."""
    if cors is None:
        return None
    return {name: cors[name] for name in _CORS_MEMBERS if cors.get(name) is not None}


def _fingerprint(declaration: Mapping[str, Any] | None) -> str | None:
    return None if declaration is None else json.dumps(declaration, sort_keys=True, default=str)


class _Entry(NamedTuple):
    """What the API made of one URL: its configuration (None: deleted), and the function.json
    declaration it was made over (its fingerprint; None when there was none)."""

    config: FunctionUrlConfig | None
    over: str | None


_Key = tuple[str, str | None]


class FunctionUrls:
    """Every function URL configuration, by (function name, qualifier), and by url-id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._api: dict[_Key, _Entry] = {}
        #: function.json declarations: name -> (configuration, fingerprint)
        self._declared: dict[str, tuple[FunctionUrlConfig, str]] = {}
        #: declarations seen: name -> (fingerprint, when first seen), so that CreationTime stays put
        self._seen: dict[str, tuple[str, float]] = {}
        self._by_id: dict[str, _Key] = {}
        if path.exists():
            try:
                self._load(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("ignoring %s: %s", path, exc)
                self._api, self._seen = {}, {}
        self._reindex()

    def _load(self, data: Mapping[str, Any]) -> None:
        for item in data["Configs"]:
            config = FunctionUrlConfig.from_json(item["Config"]) if item["Config"] is not None else None
            key = (str(item["FunctionName"]), item.get("Qualifier"))
            self._api[key] = _Entry(config, item.get("Over"))
        self._seen = {str(name): (str(seen[0]), float(seen[1])) for name, seen in data.get("DeclaredSeen", {}).items()}

    # --- the API ---------------------------------------------------------------

    def create(self, function: FunctionConfig, request: Mapping[str, Any],
               qualifier: str | None = None) -> FunctionUrlConfig:
        """CreateFunctionUrlConfig (ResourceConflictException when the function has a URL)."""
        check_settings(request, create=True)
        key = (function.name, qualifier)
        arn = function.arn + (f":{qualifier}" if qualifier else "")
        if self._effective(key) is not None:
            raise ResourceConflictException(
                f"Failed to create function url config for [functionArn = {arn}]. Error message:  "
                "FunctionUrlConfig exists for this Lambda function")
        now = now_iso()
        config = FunctionUrlConfig(
            function_name=function.name, function_arn=arn, qualifier=qualifier, url_id=self._new_id(),
            auth_type=request["AuthType"], cors=_cors_of(request.get("Cors")),
            invoke_mode=request.get("InvokeMode") or "BUFFERED", creation_time=now, last_modified_time=now)
        self._put(key, config)
        return config

    def get(self, name: str, qualifier: str | None = None) -> FunctionUrlConfig:
        """GetFunctionUrlConfig (ResourceNotFoundException when there is none)."""
        config = self._effective((name, qualifier))
        if config is None:
            raise ResourceNotFoundException(NO_SUCH_RESOURCE)
        return config

    def update(self, name: str, request: Mapping[str, Any], qualifier: str | None = None) -> FunctionUrlConfig:
        """UpdateFunctionUrlConfig: the fields given change (a Cors given replaces the Cors)."""
        check_settings(request, create=False)
        current = self.get(name, qualifier)
        changes: dict[str, Any] = {"last_modified_time": now_iso(), "declared": False}
        if request.get("AuthType") is not None:
            changes["auth_type"] = request["AuthType"]
        if request.get("InvokeMode") is not None:
            changes["invoke_mode"] = request["InvokeMode"]
        if request.get("Cors") is not None:
            changes["cors"] = _cors_of(request["Cors"])
        config = replace(current, **changes)
        self._put((name, qualifier), config)
        return config

    def delete(self, name: str, qualifier: str | None = None) -> None:
        """DeleteFunctionUrlConfig (ResourceNotFoundException when there is none)."""
        self.get(name, qualifier)
        self._put((name, qualifier), None)

    def list(self, name: str, marker: str | None = None,
             max_items: int | None = None) -> tuple[list[FunctionUrlConfig], str | None]:
        """ListFunctionUrlConfigs: a page of the function's URLs by FunctionArn, and the marker of
        the next page (None on the last)."""
        keys = {key for key in self._api if key[0] == name} | ({(name, None)} if name in self._declared else set())
        configs = sorted((c for c in map(self._effective, keys) if c is not None), key=lambda c: c.function_arn)
        if marker:
            configs = [c for c in configs if c.function_arn > marker]
        size = max(1, min(max_items or MAX_LIST_ITEMS, MAX_LIST_ITEMS))
        page = configs[:size]
        return page, (page[-1].function_arn if len(configs) > size else None)

    # --- the server's lookup ---------------------------------------------------

    def by_url_id(self, url_id: str) -> FunctionUrlConfig | None:
        """The configuration of the URL whose id is ``url_id`` (None when no URL has it)."""
        key = self._by_id.get(url_id)
        return self._effective(key) if key is not None else None

    def all(self) -> builtins.list[FunctionUrlConfig]:
        """Every URL served now."""
        found = (self.by_url_id(url_id) for url_id in builtins.list(self._by_id))
        return sorted((c for c in found if c is not None), key=lambda c: (c.function_name, c.qualifier or ""))

    # --- the functions' lifecycle ----------------------------------------------

    def sync(self, functions: Iterable[FunctionConfig]) -> None:
        """The registry's functions now (at start and after every change, hot reloads included):
        URLs declared in function.json follow their declarations, and the URLs of functions that
        are gone (deleted, or not recreated after a restart) go with them."""
        functions = list(functions)
        names = {f.name for f in functions}
        declared: dict[str, tuple[FunctionUrlConfig, str]] = {}
        changed = False
        for function in functions:
            declaration = function.function_url
            if declaration is None:
                continue
            fingerprint = _fingerprint(declaration)
            assert fingerprint is not None
            seen = self._seen.get(function.name)
            if seen is None or seen[0] != fingerprint:
                seen = self._seen[function.name] = (fingerprint, time.time())
                changed = True
            at = _iso(seen[1])
            declared[function.name] = (FunctionUrlConfig(
                function_name=function.name, function_arn=function.arn, qualifier=None,
                url_id=declared_url_id(function.arn), auth_type=declaration["AuthType"],
                cors=_cors_of(declaration.get("Cors")), invoke_mode=declaration.get("InvokeMode") or "BUFFERED",
                creation_time=at, last_modified_time=at, declared=True), fingerprint)
        for name in [n for n in self._seen if n not in declared]:
            del self._seen[name]
            changed = True
        for key in [k for k in self._api if k[0] not in names]:
            del self._api[key]
            changed = True
        self._declared = declared
        if changed:
            self._save()
        self._reindex()

    def forget(self, name: str) -> None:
        """The function was deleted: its URLs go with it."""
        keys = [k for k in self._api if k[0] == name]
        for key in keys:
            del self._api[key]
        self._declared.pop(name, None)
        if keys or self._seen.pop(name, None) is not None:
            self._save()
        self._reindex()

    def clear(self) -> None:
        """/_cloudmicro/reset: every URL the API made goes (declared ones come back with their folders)."""
        self._api.clear()
        self._seen.clear()
        self._declared.clear()
        self._save()
        self._reindex()

    # --- internals -------------------------------------------------------------

    def _effective(self, key: _Key) -> FunctionUrlConfig | None:
        name, qualifier = key
        declared = self._declared.get(name) if qualifier is None else None
        fingerprint = declared[1] if declared is not None else None
        entry = self._api.get(key)
        if entry is not None and entry.over == fingerprint:
            return entry.config
        return declared[0] if declared is not None else None

    def _put(self, key: _Key, config: FunctionUrlConfig | None) -> None:
        declared = self._declared.get(key[0]) if key[1] is None else None
        over = declared[1] if declared is not None else None
        if config is None and over is None:
            self._api.pop(key, None)
        else:
            self._api[key] = _Entry(config, over)
        self._save()
        self._reindex()

    def _reindex(self) -> None:
        keys = set(self._api) | {(name, None) for name in self._declared}
        index: dict[str, _Key] = {}
        for key in keys:
            config = self._effective(key)
            if config is not None:
                index[config.url_id] = key
        self._by_id = index

    def _new_id(self) -> str:
        while True:
            url_id = random_url_id()
            if url_id not in self._by_id:
                return url_id

    def _save(self) -> None:
        data = {
            "Version": 1,
            "Configs": [
                {"FunctionName": name, "Qualifier": qualifier, "Over": entry.over,
                 "Config": entry.config.to_json() if entry.config is not None else None}
                for (name, qualifier), entry in sorted(self._api.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            ],
            "DeclaredSeen": {name: [seen[0], seen[1]] for name, seen in sorted(self._seen.items())},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)


def check_declaration(value: Any) -> dict[str, Any]:
    """A function.json ``FunctionUrl``, checked (ValidationException as the API's would be)."""
    if not isinstance(value, Mapping):
        raise ValidationException('FunctionUrl must be an object like {"AuthType": "NONE"}')
    unknown = sorted(set(value) - {"AuthType", "InvokeMode", "Cors"})
    if unknown:
        raise ValidationException(f"FunctionUrl: unknown field(s) {', '.join(unknown)}; "
                                  "allowed: AuthType, Cors, InvokeMode")
    check_settings(value, create=True)
    return dict(value)
