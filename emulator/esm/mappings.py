"""Event source mappings: the configuration (validated as AWS validates it) and its AWS shape.

A mapping is frozen; changes make a new one. Its settled state is Enabled or Disabled; the
answers to Create/Update/Delete show the transitional state AWS reports (Creating, Enabling,
Disabling, Updating, Deleting), and the next Get shows the settled one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from emulator.domain.arn import Arn
from emulator.domain.errors import InvalidParameterValueException, ValidationException
from emulator.patterns.engine import PatternError, PatternTooLong, validate_filter_criteria

SourceKind = Literal["sqs", "dynamodb", "kinesis"]
STREAM_KINDS = ("dynamodb", "kinesis")
_REQUEST_KEYS = {
    "FunctionName", "EventSourceArn", "Enabled", "BatchSize", "MaximumBatchingWindowInSeconds",
    "FilterCriteria", "FunctionResponseTypes", "ScalingConfig", "StartingPosition",
    "StartingPositionTimestamp", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError", "ParallelizationFactor", "DestinationConfig", "TumblingWindowInSeconds",
    "Tags", "MetricsConfig",
}


def source_kind(arn: Any) -> SourceKind:
    """What an EventSourceArn points at; InvalidParameterValueException for anything else."""
    parsed = Arn.maybe(arn)
    if parsed is not None:
        if parsed.service == "sqs":
            return "sqs"
        if parsed.service == "dynamodb" and "/stream/" in parsed.resource:
            return "dynamodb"
        if parsed.service == "kinesis" and parsed.resource_type == "stream":
            return "kinesis"
    raise InvalidParameterValueException(
        f"Unsupported event source: {arn!r}. Supported locally: SQS queue ARNs "
        "(arn:aws:sqs:...), DynamoDB stream ARNs (arn:aws:dynamodb:...:table/T/stream/...) and "
        "Kinesis stream ARNs (arn:aws:kinesis:...:stream/S)."
    )


@dataclass(frozen=True)
class EventSourceMapping:
    """One mapping's configuration."""

    function_name: str
    function_arn: str
    event_source_arn: str
    kind: SourceKind
    batch_size: int
    maximum_batching_window: int = 0
    enabled: bool = True
    filter_criteria: dict[str, Any] | None = None
    function_response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None
    starting_position: str | None = None
    starting_position_timestamp: float | None = None
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    bisect_on_error: bool = False
    parallelization_factor: int = 1
    on_failure: str | None = None
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    last_modified: float = field(default_factory=time.time)
    #: "api" (persisted in the state directory) or "config" (declared in function.json)
    origin: str = "api"

    @property
    def reports_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @property
    def state(self) -> str:
        return "Enabled" if self.enabled else "Disabled"

    def to_aws(self, state: str | None = None, last_result: str = "No records processed") -> dict[str, Any]:
        """The EventSourceMappingConfiguration shape."""
        config: dict[str, Any] = {
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.maximum_batching_window,
            "EventSourceArn": self.event_source_arn,
            "FunctionArn": self.function_arn,
            "LastModified": round(self.last_modified, 3),
            "State": state or self.state,
            "StateTransitionReason": "USER_INITIATED",
            "FunctionResponseTypes": list(self.function_response_types),
            "EventSourceMappingArn": f"{self.function_arn.split(':function:')[0]}:event-source-mapping:{self.uuid}",
        }
        if self.filter_criteria:
            config["FilterCriteria"] = self.filter_criteria
        if self.kind == "sqs":
            if self.maximum_concurrency is not None:
                config["ScalingConfig"] = {"MaximumConcurrency": self.maximum_concurrency}
        else:
            config.update({
                "StartingPosition": self.starting_position,
                "ParallelizationFactor": self.parallelization_factor,
                "DestinationConfig": {"OnFailure": {"Destination": self.on_failure} if self.on_failure else {}},
                "MaximumRecordAgeInSeconds": self.maximum_record_age,
                "BisectBatchOnFunctionError": self.bisect_on_error,
                "MaximumRetryAttempts": self.maximum_retry_attempts,
                "TumblingWindowInSeconds": 0,
                "LastProcessingResult": last_result,
            })
            if self.starting_position_timestamp is not None:
                config["StartingPositionTimestamp"] = self.starting_position_timestamp
        return config

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["function_response_types"] = list(self.function_response_types)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventSourceMapping:
        return cls(**{**data, "function_response_types": tuple(data.get("function_response_types", ()))})


def _int(request: Mapping[str, Any], key: str, default: int, low: int, high: int, *,
         allow: tuple[int, ...] = ()) -> int:
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high or value in allow):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{value}' at '{key[0].lower() + key[1:]}' failed to satisfy "
            f"constraint: Member must have value between {low} and {high}"
            + (f" (or {', '.join(map(str, allow))})" if allow else "")
        )
    return value


def _filter_criteria(value: Any) -> dict[str, Any] | None:
    """FilterCriteria checked by the engine that matches it (one parser), with Lambda's errors: a
    pattern over 4,096 characters breaks the API's length constraint (ValidationException), an
    invalid one is InvalidParameterValueException "Invalid filter pattern definition."."""
    if value is None or value == {} or value == {"Filters": []}:
        return None
    filters = value.get("Filters") if isinstance(value, Mapping) else None
    if not isinstance(filters, list) or not all(isinstance(f, Mapping) and "Pattern" in f for f in filters):
        raise InvalidParameterValueException('FilterCriteria must look like {"Filters": [{"Pattern": "<json>"}]}')
    try:
        return validate_filter_criteria(value)
    except PatternTooLong as exc:
        raise ValidationException(
            f"1 validation error detected: Value '{exc.text}' at 'filterCriteria.filters.{exc.index}.member.pattern' "
            f"failed to satisfy constraint: Member must have length less than or equal to {exc.limit}") from None
    except PatternError as exc:
        raise InvalidParameterValueException(exc.lambda_message) from None


def _settings(request: Mapping[str, Any], kind: SourceKind, base: EventSourceMapping | None) -> dict[str, Any]:
    """Validated fields from a Create or Update request (Update: only what it names)."""
    def current(key: str, attr: str, default: Any) -> Any:
        return request.get(key, getattr(base, attr) if base is not None else default)

    stream = kind in STREAM_KINDS
    batch_default = 100 if stream else 10
    fields: dict[str, Any] = {}
    fields["batch_size"] = _int({"BatchSize": current("BatchSize", "batch_size", batch_default)},
                                "BatchSize", batch_default, 1, 10000)
    fields["maximum_batching_window"] = _int(
        {"MaximumBatchingWindowInSeconds": current("MaximumBatchingWindowInSeconds", "maximum_batching_window", 0)},
        "MaximumBatchingWindowInSeconds", 0, 0, 300)
    if kind == "sqs" and fields["batch_size"] > 10 and fields["maximum_batching_window"] < 1:
        raise InvalidParameterValueException(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
    enabled = current("Enabled", "enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidParameterValueException("Enabled must be true or false")
    fields["enabled"] = enabled
    if "FilterCriteria" in request:
        fields["filter_criteria"] = _filter_criteria(request["FilterCriteria"])
    types = request.get("FunctionResponseTypes")
    if types is not None:
        if not isinstance(types, list) or any(t != "ReportBatchItemFailures" for t in types):
            raise InvalidParameterValueException(
                "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy constraint: "
                "Member must satisfy enum value set: [ReportBatchItemFailures]")
        fields["function_response_types"] = tuple(types)
    if "ScalingConfig" in request:
        if stream:
            raise InvalidParameterValueException("ScalingConfig is only supported for SQS event sources")
        scaling = request["ScalingConfig"] or {}
        fields["maximum_concurrency"] = (
            _int(scaling, "MaximumConcurrency", 2, 2, 1000) if "MaximumConcurrency" in scaling else None)
    stream_keys = ("StartingPosition", "StartingPositionTimestamp", "MaximumRetryAttempts",
                   "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "ParallelizationFactor",
                   "DestinationConfig")
    if not stream:
        for key in stream_keys:
            if key in request:
                raise InvalidParameterValueException(f"{key} is not valid for SQS event sources")
        return fields
    if base is None:
        position = request.get("StartingPosition")
        if position not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
            raise InvalidParameterValueException(
                "1 validation error detected: Value at 'startingPosition' failed to satisfy constraint: "
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP] "
                "(StartingPosition is required for stream event sources)")
        fields["starting_position"] = position
        if position == "AT_TIMESTAMP":
            stamp = request.get("StartingPositionTimestamp")
            if stamp is None:
                raise InvalidParameterValueException("StartingPositionTimestamp is required with AT_TIMESTAMP")
            if kind == "dynamodb":
                raise InvalidParameterValueException("AT_TIMESTAMP is not supported for DynamoDB streams")
            fields["starting_position_timestamp"] = float(stamp)
    fields["maximum_retry_attempts"] = _int(
        {"MaximumRetryAttempts": current("MaximumRetryAttempts", "maximum_retry_attempts", -1)},
        "MaximumRetryAttempts", -1, 0, 10000, allow=(-1,))
    fields["maximum_record_age"] = _int(
        {"MaximumRecordAgeInSeconds": current("MaximumRecordAgeInSeconds", "maximum_record_age", -1)},
        "MaximumRecordAgeInSeconds", -1, 60, 604800, allow=(-1,))
    fields["parallelization_factor"] = _int(
        {"ParallelizationFactor": current("ParallelizationFactor", "parallelization_factor", 1)},
        "ParallelizationFactor", 1, 1, 10)
    bisect = current("BisectBatchOnFunctionError", "bisect_on_error", False)
    if not isinstance(bisect, bool):
        raise InvalidParameterValueException("BisectBatchOnFunctionError must be true or false")
    fields["bisect_on_error"] = bisect
    if "DestinationConfig" in request:
        destination = ((request["DestinationConfig"] or {}).get("OnFailure") or {}).get("Destination")
        if destination is not None and not (
            isinstance(destination, str) and destination.startswith(("arn:aws:sqs:", "arn:aws:sns:"))
        ):
            raise InvalidParameterValueException(
                "DestinationConfig.OnFailure.Destination must be an SQS queue or SNS topic ARN")
        fields["on_failure"] = destination
    return fields


def new_mapping(request: Mapping[str, Any], function_name: str, function_arn: str,
                origin: str = "api") -> EventSourceMapping:
    """A mapping from a CreateEventSourceMapping request (validated)."""
    unknown = sorted(set(request) - _REQUEST_KEYS)
    if unknown:
        raise InvalidParameterValueException(f"Unsupported field(s): {', '.join(unknown)}")
    kind = source_kind(request.get("EventSourceArn"))
    return EventSourceMapping(
        function_name=function_name, function_arn=function_arn, event_source_arn=request["EventSourceArn"],
        kind=kind, origin=origin, **_settings(request, kind, None),
    )


def updated_mapping(mapping: EventSourceMapping, request: Mapping[str, Any],
                    function: tuple[str, str] | None = None) -> EventSourceMapping:
    """UpdateEventSourceMapping: only the fields given change (and maybe the function)."""
    unknown = sorted(set(request) - _REQUEST_KEYS - {"UUID"})
    if unknown:
        raise InvalidParameterValueException(f"Unsupported field(s): {', '.join(unknown)}")
    if "StartingPosition" in request or "EventSourceArn" in request:
        raise InvalidParameterValueException("StartingPosition and EventSourceArn cannot be updated")
    changes = _settings(request, mapping.kind, mapping)
    if function is not None:
        changes["function_name"], changes["function_arn"] = function
    return replace(mapping, **changes, last_modified=time.time())
