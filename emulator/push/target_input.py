"""What an EventBridge target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``.

Pure functions, shared by rules on a bus (:mod:`emulator.push.eventbridge`) and by
schedule rules. The rules follow AWS's "Amazon EventBridge input transformation"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html) and
the behaviour LocalStack recorded against AWS (tests/aws/services/events/test_events_inputs):

* ``Input``: that JSON text, as it is. ``InputPath``: the JSON value at the path (a string
  arrives as a JSON string, ``"baz"``). Otherwise the whole event.
* ``InputTransformer``: each ``InputPathsMap`` variable takes the value at its JSONPath (dot
  notation, dashes, array indices, ``*`` wildcards, which yield an array). ``<name>`` in
  ``InputTemplate`` is replaced:

  - inside a quoted string: by the value's text, unescaped (EventBridge does not escape values);
    an object or array loses its internal quotes (``{instance-id:i-1,state:RUNNING}``);
  - as a JSON value (outside quotes, in a template that is a JSON object or array, or a
    template that is just one ``<name>``): by the value as JSON (a string gains its quotes);
  - a path that matches nothing gives an empty string (``""`` as a JSON value).

  A JSON template's result must parse and is passed minified; any other template is passed as
  its text (``"instance <id> is in <state>"`` gives that JSON string, quotes included).
  Predefined variables: ``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time`` (ISO 8601), ``aws.events.event`` (the event without
  ``detail``, with ``detail-type`` as ``detailType``) and ``aws.events.event.json`` (the event).

PutTargets' checks (:func:`validate_target`), each a ValidationException with AWS's message:
only one of Input/InputPath/InputTransformer; ``Input`` is JSON ("JSON syntax error in input for
target <id>: ..."); ``InputPath`` and every ``InputPathsMap`` value is a JSON path rooted at
``$`` in dot notation, array indices and ``*`` allowed, quoted brackets not ("InputPath for
target <id> is invalid."); at most 100 ``InputPathsMap`` entries, keys of 1-256 characters from
``[A-Za-z0-9_-]`` (so no ``AWS.`` names: the model's "1 validation error detected" messages);
every placeholder defined; ``<aws.events.event.json>`` only in a JSON object template; and, as
the InputTransformer reference says, no placeholder as an object key. A JSON template that
renders to invalid JSON is accepted, as AWS documents no check for it; the event then fails at
delivery (``INVALID_JSON``, see :mod:`.eventbridge`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from emulator.domain import json_text

__all__ = [
    "PREDEFINED",
    "TargetInputError",
    "is_json_path",
    "iso_time",
    "json_path",
    "render_template",
    "target_payload",
    "validate_target",
]

PREDEFINED = frozenset({
    "aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
    "aws.events.event", "aws.events.event.json",
})

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_MISSING: Any = object()


MAX_PATHS = 100
_PATHS_MAP_KEY = re.compile(r"[A-Za-z0-9_\-]{1,256}")
_JSON_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_PLACEHOLDER_KEY = re.compile(r"[{,]\s*<([A-Za-z0-9_.\-]+)>\s*:")


class TargetInputError(ValueError):
    """The target gets nothing: the InputPath matched nothing or the template gave bad JSON.

    ``code`` is the EventBridge DLQ ERROR_CODE of the failure.
    """

    def __init__(self, message: str, code: str = "INVALID_PARAMETER") -> None:
        super().__init__(message)
        self.code = code


def iso_time(value: Any) -> str:
    """An event ``time``: epoch seconds (moto's) or a string (kept) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(value, str) and value:
        return value
    seconds = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# --------------------------------------------------------------------------- JSONPath

_SEGMENT = re.compile(r"""\.(\*|[^.\[\]]+)|\[(\*|-?\d+|'[^']*'|"[^"]*")\]""")


def json_path(document: Any, path: str) -> Any:
    """The value at ``path`` (``$.detail.items[0].id``, ``$.detail.*``); ``_MISSING`` when none.

    A wildcard makes the result the array of every match. Raises TargetInputError for a
    path that is not JSONPath.
    """
    path = path.strip()
    if not path.startswith("$"):
        raise TargetInputError(f"{path!r} is not a JSON path (it must start with $)")
    rest, position, steps = path[1:], 0, []
    while position < len(rest):
        match = _SEGMENT.match(rest, position)
        if match is None:
            raise TargetInputError(f"{path!r} is not a JSON path (at {rest[position:]!r})")
        steps.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
    current, spread = [document], False
    for step in steps:
        following: list[Any] = []
        for node in current:
            following += _step(node, step)
        current, spread = following, spread or step == "*"
    if spread:
        return current if current else _MISSING
    return current[0] if current else _MISSING


def is_json_path(path: Any) -> bool:
    """Whether EventBridge takes ``path`` as a JSON path: ``$``, dot notation, indices and ``*``
    (quoted brackets such as ``$.detail['a']`` are refused by PutTargets)."""
    if not isinstance(path, str) or not path.strip().startswith("$"):
        return False
    try:
        json_path({}, path)
    except TargetInputError:
        return False
    return not re.search(r"\[\s*['\"]", path)


def _step(node: Any, step: str) -> list[Any]:
    if step == "*":
        if isinstance(node, dict):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if step[:1] in "'\"":
        step = step[1:-1]
    elif isinstance(node, list) and re.fullmatch(r"-?\d+", step):
        index = int(step)
        return [node[index]] if -len(node) <= index < len(node) else []
    if isinstance(node, dict) and step in node:
        return [node[step]]
    return []


# --------------------------------------------------------------------------- templates


def _as_json(value: Any) -> str:
    if value is _MISSING:
        return '""'
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _as_text(value: Any) -> str:
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return _as_json(value).replace('"', "")
    return _as_json(value)


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """Fill ``<name>`` placeholders (rules in the module docstring); unknown names stay as they are.

    ``variables`` maps a name to its value; a name mapped to ``_MISSING`` (a path that
    matched nothing) renders empty.
    """
    stripped = template.strip()
    json_template = stripped[:1] in ("{", "[")
    whole = _PLACEHOLDER.fullmatch(stripped)
    if whole is not None and whole.group(1) in variables:
        return _as_json(variables[whole.group(1)])
    out: list[str] = []
    in_string, escaped, last = False, False, 0
    for index, char in enumerate(template):
        if index < last:
            continue
        if in_string and escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, index)
            if match is not None and match.group(1) in variables:
                value = variables[match.group(1)]
                out.append(_as_json(value) if json_template and not in_string else _as_text(value))
                last = match.end()
                continue
        out.append(char)
    return "".join(out)


def _predefined(event: Mapping[str, Any], rule_name: str, rule_arn: str,
                ingestion_time: float | None) -> dict[str, Any]:
    ingested = iso_time(ingestion_time) if ingestion_time is not None else iso_time(event.get("time"))
    summary = {("detailType" if key == "detail-type" else key): value
               for key, value in event.items() if key != "detail"}
    return {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": ingested,
        "aws.events.event": summary,
        "aws.events.event.json": dict(event),
    }


def target_payload(event: Mapping[str, Any], target: Mapping[str, Any], rule_name: str, *,
                   rule_arn: str = "", ingestion_time: float | None = None) -> bytes:
    """The bytes EventBridge hands ``target`` (a PutTargets Target) for ``event``.

    ``event`` is the AWS envelope (version, id, detail-type, source, account, time, region,
    resources, detail). ``ingestion_time`` (epoch seconds) feeds
    ``<aws.events.event.ingestion-time>``; it defaults to the event's time.
    Raises :class:`TargetInputError` when the target gets nothing.
    """
    if target.get("Input") is not None:
        return str(target["Input"]).encode("utf-8")
    if target.get("InputPath"):
        value = json_path(event, str(target["InputPath"]))
        if value is _MISSING:
            raise TargetInputError(f"InputPath {target['InputPath']} matches nothing in the event")
        return _as_json(value).encode("utf-8")
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    template = str(transformer.get("InputTemplate", ""))
    variables: dict[str, Any] = {
        name: json_path(event, str(path))
        for name, path in (transformer.get("InputPathsMap") or {}).items() if name not in PREDEFINED
    }
    variables.update(_predefined(event, rule_name, rule_arn, ingestion_time))
    rendered = render_template(template, variables)
    if template.strip()[:1] in ("{", "["):
        try:
            parsed = json_text.loads(rendered)
        except ValueError as exc:
            raise TargetInputError(f"the InputTemplate gave invalid JSON ({exc}): {rendered[:200]}",
                                   "INVALID_JSON") from None
        rendered = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    return rendered.encode("utf-8")


def _java_map(mapping: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{key}={value}" for key, value in mapping.items()) + "}"


def _json_syntax_error(target_id: Any, text: str) -> str | None:
    try:
        json_text.loads(text)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        shown = text if len(text) <= 100 else text[:100] + "...<truncated>"
        return (f'JSON syntax error in input for target {target_id}: [Source: (String)"{shown}"; '
                f"line: {line}, column: {column}]")
    return None


def validate_target(target: Mapping[str, Any], index: int = 1) -> str | None:
    """PutTargets' checks of a target's input settings: AWS's ValidationException message, or None.

    ``index`` is the target's 1-based position in the request (named by the model's messages).
    """
    target_id = target.get("Id")
    given = [key for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None]
    if len(given) > 1:
        return f"Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
    if target.get("Input") is not None:
        return _json_syntax_error(target_id, str(target["Input"]))
    if target.get("InputPath") is not None and not is_json_path(target["InputPath"]):
        return f"InputPath for target {target_id} is invalid."
    transformer = target.get("InputTransformer")
    if transformer:
        return _transformer_problem(target_id, transformer, index)
    return None


def _transformer_problem(target_id: Any, transformer: Mapping[str, Any], index: int) -> str | None:
    paths: Mapping[str, Any] = transformer.get("InputPathsMap") or {}
    where = f"at 'targets.{index}.member.inputTransformer.inputPathsMap'"
    if len(paths) > MAX_PATHS:
        return (f"1 validation error detected: Value '{_java_map(paths)}' {where} failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_PATHS}")
    if any(not _PATHS_MAP_KEY.fullmatch(str(key)) for key in paths):
        return (f"1 validation error detected: Value '{_java_map(paths)}' {where} failed to satisfy constraint: "
                "Map keys must satisfy constraint: [Member must have length less than or equal to 256, "
                "Member must have length greater than or equal to 1, "
                "Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]")
    if any(not is_json_path(path) for path in paths.values()):
        return f"InputPath for target {target_id} is invalid."
    template = str(transformer.get("InputTemplate", ""))
    for placeholder in _PLACEHOLDER.findall(template):
        if placeholder not in paths and placeholder not in PREDEFINED:
            return f"InputTemplate for target {target_id} contains invalid placeholder {placeholder}."
    if "<aws.events.event.json>" in template and not template.strip().startswith("{"):
        return (f"InputTemplate for target {target_id} contains placeholder aws.events.event.json "
                "valid only for JSON template.")
    if template.strip().startswith("{"):
        key = _PLACEHOLDER_KEY.search(_JSON_STRING.sub('""', template))
        if key is not None:
            return f"InputTemplate for target {target_id} uses placeholder {key.group(1)} as an object key."
    return None
