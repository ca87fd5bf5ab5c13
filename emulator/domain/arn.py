"""ARNs as values: parsed once, by botocore's :class:`~botocore.utils.ArnParser`, and read by name.

``arn:partition:service:region:account:resource`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
The resource is ``name``, ``type/id`` or ``type:id``; :attr:`Arn.resource_type` and
:attr:`Arn.resource_id` split it at the first ``/`` or ``:`` (``function:f:1`` ->
``function``, ``f:1``; ``stream/orders`` -> ``stream``, ``orders``; an SQS queue's ``orders``
-> ``""``, ``orders``). A string that is not an ARN raises :class:`InvalidArn`, one error with
one message, wherever it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from botocore.utils import ArnParser, InvalidArnException

_PARSER = ArnParser()


class InvalidArn(ValueError):
    """A string that is not an ARN (``arn:partition:service:region:account:resource``)."""

    def __init__(self, text: object) -> None:
        super().__init__(f"{text!r} is not an ARN: an ARN is arn:partition:service:region:account:resource")
        self.text = text


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: object) -> Arn:
        """The ARN ``text`` names; :class:`InvalidArn` when it names none (or is not a string)."""
        if not isinstance(text, str):
            raise InvalidArn(text)
        return _parse(text)

    @classmethod
    def maybe(cls, text: object) -> Arn | None:
        """:meth:`parse`, or None for a string that is not an ARN."""
        try:
            return cls.parse(text)
        except InvalidArn:
            return None

    @property
    def resource_type(self) -> str:
        """What comes before the resource's first ``/`` or ``:`` (``""`` when it has neither)."""
        cut = _separator(self.resource)
        return self.resource[:cut] if cut >= 0 else ""

    @property
    def resource_id(self) -> str:
        """What comes after the resource's first ``/`` or ``:`` (the whole resource when neither)."""
        cut = _separator(self.resource)
        return self.resource[cut + 1:] if cut >= 0 else self.resource

    @property
    def name(self) -> str:
        """The resource's own name: the last part of its id (``function:f:1`` -> ``f:1``'s ``f``
        is :attr:`function_name`; ``event-bus/b`` -> ``b``; ``table/t/stream/x`` -> ``x``)."""
        return self.resource_id.rsplit("/", 1)[-1]

    @property
    def function_name(self) -> str:
        """A Lambda function ARN's name, without its qualifier."""
        return self.resource_id.split(":", 1)[0]

    @property
    def qualifier(self) -> str | None:
        """A Lambda function ARN's version or alias, or None."""
        parts = self.resource_id.split(":", 1)
        return parts[1] if len(parts) > 1 else None

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


@lru_cache(maxsize=4096)
def _parse(text: str) -> Arn:
    try:
        parts = _PARSER.parse_arn(text)
    except InvalidArnException:
        raise InvalidArn(text) from None
    if not text.startswith("arn:") or not parts["partition"] or not parts["service"] or not parts["resource"]:
        raise InvalidArn(text)
    return Arn(parts["partition"], parts["service"], parts["region"], parts["account"], parts["resource"])


def _separator(resource: str) -> int:
    slash, colon = resource.find("/"), resource.find(":")
    if slash < 0:
        return colon
    if colon < 0:
        return slash
    return min(slash, colon)
