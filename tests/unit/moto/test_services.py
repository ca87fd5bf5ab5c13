"""Which moto patches a request prepares (emulator/moto/services.py): a service's own and
those of the services its deliveries pass through."""

from __future__ import annotations

from emulator.moto import services
from emulator.moto.patching import PatchSet
from emulator.moto.services import PATCHERS, needed


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


def test_cloudformation_prepares_everything_but_step_functions():
    assert sorted(needed("cloudformation")) == sorted(set(PATCHERS) - {"states"})  # its own requests prepare it


def test_an_unknown_service_prepares_everything_but_step_functions_and_cloudformation():
    assert sorted(needed(None)) == sorted(set(PATCHERS) - {"states", "cloudformation"})
    assert {"s3", "sns", "events", "scheduler"} <= set(needed(None))


def test_prepare_applies_each_patch_once(monkeypatch):
    applied: list[str] = []

    def fake(name: str) -> PatchSet:
        def patches() -> list:
            applied.append(name)
            return []
        return PatchSet(name, patches)

    sets = {name: fake(name) for name in ("s3", "sns", "events")}
    monkeypatch.setattr(services, "_prepared", set())
    monkeypatch.setattr(services, "PATCHERS", {name: (lambda name=name: sets[name],) for name in sets})
    services.prepare("events")
    services.prepare("s3")
    services.prepare("s3")
    services.prepare(None)
    services.prepare("dynamodb")
    assert applied == ["events", "sns", "s3"]


def test_moto_making_a_service_app_prepares_that_service(monkeypatch):
    """An unsigned CloudFormation request gets its patches when moto makes the app for it."""
    applied: list[str] = []

    def fake(name: str) -> PatchSet:
        def patches() -> list:
            applied.append(name)
            return []
        return PatchSet(name, patches)

    sets = {name: fake(name) for name in ("cloudformation", "cloudformation-lambda")}
    monkeypatch.setattr(services, "_prepared", set())
    monkeypatch.setattr(services, "PATCHERS", {"cloudformation": (lambda: sets["cloudformation"],
                                                                  lambda: sets["cloudformation-lambda"])})
    services.prepare_app("sqs")
    assert applied == []
    services.prepare_app("cloudformation")
    assert applied == ["cloudformation", "cloudformation-lambda"]
