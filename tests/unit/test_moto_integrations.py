"""Which moto patches a request prepares (emulator/aws/moto_delivery.py): a service's own and
those of the services its deliveries pass through."""

from __future__ import annotations

from types import SimpleNamespace

from emulator.moto import delivery as moto_delivery
from emulator.moto.delivery import PATCHERS, needed


def test_s3_prepares_the_services_it_delivers_through():
    assert needed("s3") == ["s3", "sns", "events"]


def test_eventbridge_prepares_sns_for_topic_targets():
    assert needed("events") == ["events", "sns"]


def test_a_service_without_dependents_prepares_itself_only():
    assert needed("sns") == ["sns"]
    assert needed("states") == ["states"]
    assert needed("scheduler") == ["scheduler"]


def test_services_without_patches_prepare_nothing():
    assert needed("dynamodb") == []
    assert needed("sqs") == []


def test_cloudformation_prepares_everything():
    assert sorted(needed("cloudformation")) == sorted(PATCHERS)


def test_an_unknown_service_prepares_everything_but_step_functions():
    assert sorted(needed(None)) == sorted(set(PATCHERS) - {"states"})
    assert {"s3", "sns", "events", "scheduler"} <= set(needed(None))


def test_prepare_applies_each_patch_once(monkeypatch):
    applied: list[str] = []
    fake = SimpleNamespace(**{name: (lambda name=name: applied.append(name)) for name in ("s3", "sns", "events")})
    monkeypatch.setattr(moto_delivery, "_prepared", set())
    monkeypatch.setattr(moto_delivery, "_applied", set())
    monkeypatch.setattr(moto_delivery, "PATCHERS", {name: f"fake:{name}" for name in ("s3", "sns", "events")})
    monkeypatch.setattr(moto_delivery.importlib, "import_module", lambda name: fake)
    moto_delivery.prepare("events")
    moto_delivery.prepare("s3")
    moto_delivery.prepare("s3")
    moto_delivery.prepare(None)
    moto_delivery.prepare("dynamodb")
    assert applied == ["events", "sns", "s3"]
