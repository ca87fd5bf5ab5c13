"""Asynchronous invocation settings: EventInvokeConfig (retries, event age, destinations)
and the function's dead-letter target, as the Lambda API shapes and validates them.

Destinations are the ones "Capturing records of Lambda asynchronous invocations" lists
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html): an SQS
queue, an SNS topic, a Lambda function (not the function itself), an EventBridge event bus,
and an S3 bucket for OnFailure only. ``FunctionArn`` in the API's answers is qualified with
``:$LATEST``, as in the developer guide's put-/update-function-event-invoke-config examples.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from emulator.domain.arn import Arn
from emulator.domain.errors import InvalidParameterValueException, ValidationException

DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE = 21600
#: the services Lambda sends invocation records to, by the ARN's service field
DESTINATION_SERVICES = ("sqs", "sns", "lambda", "events", "s3")
#: ... and the ones it sends only the records of failed events to
ON_FAILURE_ONLY = ("s3",)
LATEST = ":$LATEST"


@dataclass(frozen=True)
class EventInvokeConfig:
    """One function's asynchronous invocation configuration."""

    function_arn: str
    maximum_retry_attempts: int = DEFAULT_RETRIES
    maximum_event_age: int = DEFAULT_MAX_AGE
    on_success: str | None = None
    on_failure: str | None = None
    last_modified: float = 0.0
    #: set when the configuration was given through the API, not in function.json
    explicit_retries: bool = False
    explicit_age: bool = False

    def to_aws(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "LastModified": self.last_modified,
            "FunctionArn": self.function_arn + LATEST,
            "DestinationConfig": {
                "OnSuccess": {"Destination": self.on_success} if self.on_success else {},
                "OnFailure": {"Destination": self.on_failure} if self.on_failure else {},
            },
        }
        if self.explicit_retries:
            config["MaximumRetryAttempts"] = self.maximum_retry_attempts
        if self.explicit_age:
            config["MaximumEventAgeInSeconds"] = self.maximum_event_age
        return config

    def to_json(self) -> dict[str, Any]:
        return self.to_aws()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventInvokeConfig:
        arn = str(data["FunctionArn"]).removesuffix(LATEST)  # stored qualified (or not, before)
        return parse_event_invoke_config(arn, data, last_modified=data.get("LastModified"))


def parse_event_invoke_config(
    function_arn: str, request: Mapping[str, Any], *, base: EventInvokeConfig | None = None,
    last_modified: float | None = None,
) -> EventInvokeConfig:
    """A Put (``base`` None: unset fields take their defaults) or an Update (fields of ``base``
    not in the request are kept)."""
    if not isinstance(request, Mapping):
        raise InvalidParameterValueException("The request body must be a JSON object")
    config = base or EventInvokeConfig(function_arn)
    fields: dict[str, Any] = {"last_modified": last_modified or time.time(), "function_arn": function_arn}
    if "MaximumRetryAttempts" in request and request["MaximumRetryAttempts"] is not None:
        fields["maximum_retry_attempts"] = _bounded(request["MaximumRetryAttempts"], "maximumRetryAttempts", 0, 2)
        fields["explicit_retries"] = True
    if "MaximumEventAgeInSeconds" in request and request["MaximumEventAgeInSeconds"] is not None:
        fields["maximum_event_age"] = _bounded(
            request["MaximumEventAgeInSeconds"], "maximumEventAgeInSeconds", 60, 21600)
        fields["explicit_age"] = True
    destinations = request.get("DestinationConfig") or {}
    if not isinstance(destinations, Mapping):
        raise InvalidParameterValueException("DestinationConfig must be an object with OnSuccess and/or OnFailure")
    for key, attr in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
        if key in destinations:
            target = (destinations[key] or {}).get("Destination") if isinstance(destinations[key], Mapping) else None
            fields[attr] = validate_destination(target, function_arn) if target else None
    on_success = fields.get("on_success", config.on_success)
    if on_success and Arn.parse(on_success).service in ON_FAILURE_ONLY:
        on_failure = fields.get("on_failure", config.on_failure)
        raise InvalidParameterValueException(
            f"The provided destination config DestinationConfig(onSuccess=OnSuccess(destination={on_success}), "
            f"onFailure=OnFailure(destination={on_failure})) is invalid. An S3 bucket can only be an "
            "OnFailure destination."
        )
    return replace(config, **fields)


def validate_destination(arn: Any, function_arn: str) -> str:
    """A destination ARN Lambda can send records to (the service decides OnSuccess/OnFailure)."""
    parsed = Arn.maybe(arn)
    if parsed is None or parsed.service not in DESTINATION_SERVICES or not _names_a_target(parsed):
        raise InvalidParameterValueException(
            f"The destination ARN {arn} is invalid. Use the ARN of an SQS queue, an SNS topic, "
            "a Lambda function, an EventBridge event bus or (OnFailure only) an S3 bucket."
        )
    itself = Arn.parse(function_arn)
    if parsed.service == "lambda" and (parsed.region, parsed.account, parsed.function_name) == (
            itself.region, itself.account, itself.function_name):
        raise InvalidParameterValueException(
            "You can't specify the function as a destination for itself."
        )
    return arn


def _names_a_target(arn: Arn) -> bool:
    if arn.service == "events":
        return arn.resource.startswith("event-bus/") and bool(arn.resource_id)
    if arn.service == "s3":
        return not arn.region and not arn.account and ":" not in arn.resource and "/" not in arn.resource
    if arn.service == "lambda":
        return arn.resource_type == "function" and bool(arn.function_name) and arn.resource_id.count(":") <= 1
    return True


def validate_dead_letter(value: Any) -> str | None:
    """DeadLetterConfig {TargetArn}: an SQS queue or SNS topic ARN; empty removes it."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidParameterValueException('DeadLetterConfig must be {"TargetArn": "<SQS queue or SNS topic ARN>"}')
    arn = value.get("TargetArn") or ""
    if not arn:
        return None
    parsed = Arn.maybe(arn)
    if parsed is None or parsed.service not in ("sqs", "sns"):
        raise InvalidParameterValueException(
            f"The target ARN {arn} is invalid. Only Amazon SQS queue and Amazon SNS topic ARNs are "
            "supported for DeadLetterConfig."
        )
    return arn


def _bounded(value: Any, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            "Member must be an integer"
        )
    if value < low:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )
    return value
