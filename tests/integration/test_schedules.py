"""Schedules with real moto and Docker: EventBridge schedule rules and EventBridge Scheduler
schedules invoke the recorder function on time, by the clock and by ``cloudmicro schedule run``.

No test waits for a minute to pass: the schedules' clock is moved forward
(``PUT /_cloudmicro/schedules/clock``) to just before the next firing time the listing gives.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.app.server import BackgroundServer
from emulator.cli.client import PlaneClient
from emulator.config import Settings
from emulator.moto import delivery as moto_delivery
from tests.conftest import ROOT, TEST_FUNCTIONS, lambda_client
from tests.integration.probes import until
from tests.integration.recorded import aws, ensure_table, recorded, settle, wait_for

RECORDER = "arn:aws:lambda:us-east-1:123456789012:function:recorder"
ROLE = "arn:aws:iam::123456789012:role/scheduler"


@pytest.fixture(scope="module")
def plane(docker_endpoint, tmp_path_factory) -> Iterator[str]:
    """A control plane of its own, started after the session's: the newest fires the schedules."""
    settings = replace(Settings.from_env(), port=0, executor="docker", functions_dir=TEST_FUNCTIONS,
                       state_dir=tmp_path_factory.mktemp("schedules") / "state", seed_on_start=False)
    with BackgroundServer(settings) as endpoint:
        assert moto_delivery.endpoint() == endpoint
        ensure_table(endpoint)
        lambda_client(endpoint).invoke(FunctionName="recorder", Payload=b'{"warm": "up"}')
        yield endpoint


@pytest.fixture
def tag() -> str:
    return os.urandom(4).hex()


@pytest.fixture
def rules(plane) -> Iterator[Any]:
    """Create schedule rules with targets; all are deleted (and the clock set back) at the end."""
    events = aws(plane, "events")
    created: list[str] = []

    def put(name: str, expression: str, targets: list[dict[str, Any]], **kwargs: Any) -> str:
        arn = events.put_rule(Name=name, ScheduleExpression=expression, **kwargs)["RuleArn"]
        created.append(name)
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        return arn

    yield put
    set_clock(plane, 0)
    for name in created:
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]]
        if ids:
            events.remove_targets(Rule=name, Ids=ids)
        events.delete_rule(Name=name)


@pytest.fixture
def schedules(plane) -> Iterator[Any]:
    scheduler = aws(plane, "scheduler")
    created: list[str] = []

    def create(name: str, expression: str, target: dict[str, Any] | None = None, **kwargs: Any) -> str:
        kwargs.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
        arn = scheduler.create_schedule(Name=name, ScheduleExpression=expression,
                                        Target={"Arn": RECORDER, "RoleArn": ROLE, **(target or {})},
                                        **kwargs)["ScheduleArn"]
        created.append(name)
        return arn

    yield create
    set_clock(plane, 0)
    for name in created:
        with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
            scheduler.delete_schedule(Name=name)


def epoch(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def listing(plane: str) -> dict[str, dict[str, Any]]:
    reply = PlaneClient(plane).request("GET", "/_cloudmicro/schedules")
    assert reply.status == 200, reply.body
    return {row["Name"]: row for row in reply.json()["Schedules"]}


def set_clock(plane: str, offset: float) -> None:
    reply = PlaneClient(plane).request("PUT", "/_cloudmicro/schedules/clock", json.dumps({"Offset": offset}).encode())
    assert reply.status == 200, reply.body


def jump_to(plane: str, moment: float, ahead: float = 1.5) -> float:
    """Set the schedules' clock to ``ahead`` seconds before ``moment``; returns the offset."""
    offset = moment - ahead - time.time()
    set_clock(plane, offset)
    return offset


def cloudmicro(*args: str, endpoint: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLOUDMICRO_ENDPOINT": endpoint}
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def by_request(plane: str, request_id: str) -> list[Any]:
    return [r.event for r in recorded(plane, "") if r.request_id == request_id]


# --------------------------------------------------------------------------- rules


def test_rules_fire_on_time_with_the_scheduled_event(plane, rules, tag):
    cron_arn = rules(f"cron-{tag}", "cron(* * * * ? *)", [
        {"Id": "whole", "Arn": RECORDER},
        {"Id": "shaped", "Arn": RECORDER, "InputTransformer": {
            "InputPathsMap": {"at": "$.time", "rule": "$.resources[0]"},
            "InputTemplate": '{"scheduled": <at>, "rule": <rule>, "by": "transformer"}'}},
    ])
    put_at = time.time()
    rate_arn = rules(f"rate-{tag}", "rate(1 minute)", [{"Id": "path", "Arn": RECORDER, "InputPath": "$.resources"}])
    rows = listing(plane)
    cron_at, rate_at = epoch(rows[f"cron-{tag}"]["NextFiring"]), epoch(rows[f"rate-{tag}"]["NextFiring"])
    assert cron_at % 60 == 0
    assert 58 <= rate_at - put_at <= 62  # a rate counts from the rule's creation, not from the minute

    # one firing time after the other, each observed from just before it. The clock never moves
    # back (the two times can be seconds apart: the second may fire while the first is awaited),
    # and each record is judged by the clock offset in effect when it ran.
    def kind(r: Any) -> str:
        return "rate" if isinstance(r.event, list) else "cron"

    offsets: list[tuple[float, float]] = []  # (real time set, offset)
    lateness = {}
    for name, scheduled, count in sorted([("cron", cron_at, 2), ("rate", rate_at, 1)], key=lambda x: x[1]):
        wanted = scheduled - 1.5 - time.time()
        if not offsets or wanted > offsets[-1][1]:
            set_clock(plane, wanted)
            offsets.append((time.time(), wanted))
        deadline = time.monotonic() + 15
        while len(records := [r for r in recorded(plane, tag) if kind(r) == name]) < count:
            assert time.monotonic() < deadline, f"{name}: {len(records)} of {count} firings"
            time.sleep(0.1)
        first = min(r.at for r in records)
        offset = [o for at, o in offsets if at <= first][-1]
        lateness[name] = first + offset - scheduled
    found = recorded(plane, tag)

    # the cron rule fires every minute: when the rate's time is just after the next minute, the
    # cron fires again while the rate is awaited; judge the firing at the listed time
    first_time = rows[f"cron-{tag}"]["NextFiring"]
    [whole] = [r for r in found if isinstance(r.event, dict) and r.event.get("detail-type")
               and r.event["time"] == first_time]
    assert list(whole.event) == ["version", "id", "detail-type", "source", "account", "time", "region",
                                 "resources", "detail"]
    assert whole.event == {**whole.event, "version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
                           "account": "123456789012", "region": "us-east-1", "time": rows[f"cron-{tag}"]["NextFiring"],
                           "resources": [cron_arn], "detail": {}}
    assert uuid.UUID(whole.event["id"])
    [shaped] = [r.event for r in found if isinstance(r.event, dict) and r.event.get("by") == "transformer"
                and r.event["scheduled"] == first_time]
    assert shaped == {"scheduled": rows[f"cron-{tag}"]["NextFiring"], "rule": cron_arn, "by": "transformer"}
    [path] = [r for r in found if isinstance(r.event, list)]
    assert path.event == [rate_arn]
    # on time: the recorder ran within moments of the (moved) scheduled time, never before it
    assert all(0 <= late < 3.0 for late in lateness.values()), lateness


def test_disabled_rule_does_not_fire(plane, rules, tag):
    target = [{"Id": "1", "Arn": RECORDER, "Input": json.dumps({"tag": tag})}]
    rules(f"off-{tag}", "cron(* * * * ? *)", target, State="DISABLED")
    rules(f"offrate-{tag}", "rate(1 minute)", target, State="DISABLED")
    # and an enabled one, due in the same window: once it has fired, the firing loop has run at
    # the moved clock, in the pass (or after the one) that would have fired the disabled ones
    witness = uuid.uuid4().hex
    rules(f"on-{tag}", "cron(* * * * ? *)", [{"Id": "1", "Arn": RECORDER, "Input": json.dumps({"tag": witness})}])
    rows = listing(plane)
    assert rows[f"off-{tag}"]["State"] == "DISABLED" and rows[f"off-{tag}"]["NextFiring"] is None
    jump_to(plane, time.time() + 130)  # past two minute boundaries and the rate's first firing
    until(lambda: listing(plane)[f"on-{tag}"]["LastFiring"], what="the enabled rule to fire")
    rows = listing(plane)
    assert rows[f"off-{tag}"]["Fired"] == rows[f"offrate-{tag}"]["Fired"] == 0
    assert settle(plane, tag) == []

    aws(plane, "events").enable_rule(Name=f"off-{tag}")
    next_at = epoch(listing(plane)[f"off-{tag}"]["NextFiring"])
    jump_to(plane, next_at)
    assert len(wait_for(plane, tag, 1)) == 1  # the enabled one, and only once


def test_invalid_schedule_expressions_are_refused(plane, tag):
    events = aws(plane, "events")
    for expression in ("cron(0 10 * * * *)", "rate(1 minutes)", "cron(0 10 * * ?)", "cron(0 0 ? * 3#1,6#3 *)"):
        with pytest.raises(ClientError) as caught:
            events.put_rule(Name=f"bad-{tag}", ScheduleExpression=expression)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert caught.value.response["Error"]["Message"].startswith("Parameter ScheduleExpression is not valid.")
    scheduler = aws(plane, "scheduler")
    for expression, zone in (("rate(5 minute)", "UTC"), ("at(2030-02-30T10:00:00)", "UTC"),
                             ("cron(0 9 * * ? *)", "Nowhere/Special")):
        with pytest.raises(ClientError) as caught:
            scheduler.create_schedule(Name=f"bad-{tag}", ScheduleExpression=expression, ScheduleExpressionTimezone=zone,
                                      FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": RECORDER, "RoleArn": ROLE})
        assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.create_schedule(Name=f"bad-{tag}", GroupName=f"nope-{tag}", ScheduleExpression="rate(5 minutes)",
                                  FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": RECORDER, "RoleArn": ROLE})


def test_extreme_schedules_are_refused_or_never_fire_and_never_stop_the_others(plane, rules, schedules, tag):
    events, scheduler = aws(plane, "events"), aws(plane, "scheduler")
    # refused where they are made: a period no date can hold, a trailing newline, extra spaces
    for expression in ("rate(1000000000 days)", "rate(5 minutes)\n", "rate( 5 minutes )"):
        with pytest.raises(ClientError) as caught:
            events.put_rule(Name=f"bad-{tag}", ScheduleExpression=expression)
        assert caught.value.response["Error"]["Code"] == "ValidationException", expression
        assert caught.value.response["Error"]["Message"].startswith("Parameter ScheduleExpression is not valid.")
    for expression, zone in (("rate(1000000000 days)", "UTC"), ("rate( 5 minutes )", "UTC"),
                             ("rate(5  minutes)", "UTC"), ("cron(0 9 * * ? *)\n", "UTC"),
                             ("at(9999-12-31T23:00:00)", "America/New_York")):  # 10000-01-01 in UTC
        with pytest.raises(ClientError) as caught:
            scheduler.create_schedule(Name=f"bad-{tag}", ScheduleExpression=expression, ScheduleExpressionTimezone=zone,
                                      FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": RECORDER, "RoleArn": ROLE})
        assert caught.value.response["Error"]["Code"] == "ValidationException", expression
        assert "Invalid Schedule Expression" in caught.value.response["Error"]["Message"]

    # accepted: their next firing is past year 9999, so they never fire (again)
    rules(f"huge-{tag}", "rate(999999999 days)", [{"Id": "1", "Arn": RECORDER, "Input": json.dumps({"tag": tag})}])
    schedules(f"vast-{tag}", "rate(5000000 days)", {"Input": json.dumps({"tag": f"{tag}-vast"})})
    wait_for(plane, f"{tag}-vast", 1)  # a Scheduler rate fires at creation, then never
    rows = listing(plane)  # the listing (a refresh) works with them
    for name in (f"huge-{tag}", f"vast-{tag}"):
        assert rows[name]["NextFiring"] is None and "past year 9999" in rows[name]["Problem"], rows[name]
        assert rows[name]["Completed"] is False
    # and the other schedules still fire
    schedules(f"after-{tag}", "rate(1 minute)", {"Input": json.dumps({"tag": f"{tag}-after"})})
    wait_for(plane, f"{tag}-after", 1)
    assert [r for r in recorded(plane, tag) if r.event.get("tag") == tag] == []  # the huge rate: never
    assert len(recorded(plane, f"{tag}-vast")) == 1


# --------------------------------------------------------------------------- Scheduler


def test_scheduler_schedules_fire(plane, schedules, tag):
    created_at = time.time()
    arn = schedules(f"rate-{tag}", "rate(1 minute)", {"Input": json.dumps({
        "tag": tag, "arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>",
        "attempt": "<aws.scheduler.attempt-number>", "execution": "<aws.scheduler.execution-id>"})})
    # no StartDate: "your schedule starts invoking the target immediately"
    [first] = wait_for(plane, tag, 1)
    assert first.event["arn"] == arn and first.event["attempt"] == "1"
    assert re.fullmatch(r"[0-9a-f]{16}", first.event["execution"])
    assert abs(epoch(first.event["at"]) - created_at) <= 2

    once = f"{tag}-once"
    when = datetime.now(UTC) + timedelta(seconds=3)
    schedules(f"at-{tag}", f"at({when:%Y-%m-%dT%H:%M:%S})", {"Input": json.dumps({"tag": once})},
              ActionAfterCompletion="DELETE")
    [fired] = wait_for(plane, once, 1)
    assert fired.at >= when.replace(microsecond=0).timestamp() - 0.2
    scheduler = aws(plane, "scheduler")
    deadline = time.monotonic() + 5
    while any(s["Name"] == f"at-{tag}" for s in scheduler.list_schedules()["Schedules"]):
        assert time.monotonic() < deadline, "the completed one-time schedule was not deleted"
        time.sleep(0.1)
    # deleted once no firing was under way, and gone from the plane's timetable: nothing fires it again
    assert f"at-{tag}" not in listing(plane)
    assert len(settle(plane, once)) == 1


def test_scheduler_time_zone_dates_and_state_in_the_listing(plane, schedules, tag):
    schedules(f"kolkata-{tag}", "cron(30 10 * * ? *)", ScheduleExpressionTimezone="Asia/Kolkata")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    schedules(f"later-{tag}", "rate(1 day)", StartDate=start)
    schedules(f"paused-{tag}", "rate(1 minute)", {"Input": json.dumps({"tag": tag})}, State="DISABLED")
    # enabled, a rate fires at creation: once this one has, the paused one would have too
    witness = schedules(f"on-{tag}", "rate(1 minute)", {"Input": json.dumps({"tag": uuid.uuid4().hex})})
    until(lambda: listing(plane)[f"on-{tag}"]["LastFiring"], what=f"{witness} to fire")
    rows = listing(plane)
    assert rows[f"kolkata-{tag}"]["NextFiring"].endswith("T05:00:00Z")  # 10:30 IST is 05:00 UTC
    assert rows[f"kolkata-{tag}"]["Timezone"] == "Asia/Kolkata"
    assert rows[f"later-{tag}"]["NextFiring"] == f"{start:%Y-%m-%dT%H:%M:%SZ}"
    assert rows[f"paused-{tag}"]["NextFiring"] is None and rows[f"paused-{tag}"]["Fired"] == 0
    assert settle(plane, tag) == []


# --------------------------------------------------------------------------- the CLI


def test_schedule_run_and_list_with_the_cli(plane, rules, schedules, tag):
    arn = rules(f"yearly-{tag}", "cron(0 0 1 1 ? 2199)", [{"Id": "1", "Arn": RECORDER}])
    schedules(f"job-{tag}", "at(2199-01-01T00:00:00)")  # no Input: Scheduler's default, {}

    done = cloudmicro("schedule", "list", endpoint=plane)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[1]: line.split() for line in done.stdout.splitlines()[1:]}
    assert lines[f"default/yearly-{tag}"][0] == "rule"
    assert " ".join(lines[f"default/yearly-{tag}"][2:]) == "cron(0 0 1 1 ? 2199) ENABLED 2199-01-01T00:00:00Z recorder"
    assert lines[f"default/job-{tag}"][:2] == ["schedule", f"default/job-{tag}"]
    assert lines[f"default/job-{tag}"][2:] == ["at(2199-01-01T00:00:00)", "ENABLED", "2199-01-01T00:00:00Z", "recorder"]

    done = cloudmicro("schedule", "run", f"yearly-{tag}", endpoint=plane)
    assert done.returncode == 0, done.stderr
    assert f"fired rule default/yearly-{tag}" in done.stderr
    match = re.search(r"^recorder: invoked asynchronously, request id (\S+), event ", done.stdout, re.M)
    assert match, done.stdout
    [event] = [r.event for r in wait_for(plane, tag, 1)]
    assert event["detail-type"] == "Scheduled Event" and event["resources"] == [arn]
    assert abs(epoch(event["time"]) - time.time()) < 10
    assert by_request(plane, match[1]) == [event]

    done = cloudmicro("schedule", "run", f"job-{tag}", "--scheduler", endpoint=plane)
    assert done.returncode == 0, done.stderr
    request_id = re.search(r"request id (\S+),", done.stdout)[1]  # type: ignore[index]
    deadline = time.monotonic() + 20
    while not by_request(plane, request_id):
        assert time.monotonic() < deadline, "the Scheduler schedule's invocation was not recorded"
        time.sleep(0.1)
    assert by_request(plane, request_id) == [{}]

    done = cloudmicro("schedule", "run", f"nothing-{tag}", endpoint=plane)
    assert done.returncode != 0
    assert f"no schedule rule or Scheduler schedule named 'nothing-{tag}'" in done.stderr
    done = cloudmicro("schedule", "run", f"yearly-{tag}", "--scheduler", endpoint=plane)
    assert done.returncode != 0 and f"no Scheduler schedule named 'yearly-{tag}'" in done.stderr


def test_a_rule_event_no_function_takes_goes_to_the_target_dead_letter_queue(plane, rules, tag):
    sqs = aws(plane, "sqs")
    queue = sqs.create_queue(QueueName=f"rule-dlq-{tag}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    missing = f"arn:aws:lambda:us-east-1:123456789012:function:gone-{tag}"
    arn = rules(f"dlq-{tag}", "cron(0 0 1 1 ? 2199)", [
        {"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": queue_arn}},
        {"Id": "here", "Arn": RECORDER, "Input": json.dumps({"tag": tag}), "DeadLetterConfig": {"Arn": queue_arn}}])

    done = cloudmicro("schedule", "run", f"dlq-{tag}", endpoint=plane)
    assert done.returncode == 1, done.stderr  # a target was not invoked
    assert f"gone-{tag}: not invoked: Function not found" in done.stdout
    wait_for(plane, tag, 1)  # the other target still gets its event
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10, MessageAttributeNames=["All"]).get("Messages", [])
    assert len(got) == 1
    event = json.loads(got[0]["Body"])
    assert event["detail-type"] == "Scheduled Event" and event["resources"] == [arn]
    attributes = {name: value["StringValue"] for name, value in got[0]["MessageAttributes"].items()}
    assert {k: v for k, v in attributes.items() if k != "ERROR_MESSAGE"} == {
        "RULE_ARN": arn, "TARGET_ARN": missing, "ERROR_CODE": "NO_RESOURCE"}
    assert f"gone-{tag}" in attributes["ERROR_MESSAGE"]
    # only that one: `schedule run` answers once the firing has sent to every target and dead-letter queue
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", []) == []


# --------------------------------------------------------------------------- shutdown


def test_stopping_a_control_plane_with_schedules_is_quiet(tmp_path, tag, caplog):
    """Stopping closes the schedules before the thread pool they read through: no tracebacks
    ("cannot schedule new futures after shutdown") from a refresh under way."""
    settings = replace(Settings.from_env(), port=0, executor="process", functions_dir=TEST_FUNCTIONS,
                       state_dir=tmp_path / "state", seed_on_start=False)
    watched = ("emulator.schedules", "emulator.esm", "emulator.push", "emulator.moto", "emulator.app",
               "emulator.invocation.async_queue")
    with caplog.at_level(logging.WARNING):
        for n in range(3):
            with BackgroundServer(settings) as endpoint:
                events = aws(endpoint, "events")
                events.put_rule(Name=f"quiet-{tag}-{n}", ScheduleExpression="rate(5 minutes)")
                deadline = time.monotonic() + 10
                while f"quiet-{tag}-{n}" not in listing(endpoint):  # the refresh loop runs
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                events.delete_rule(Name=f"quiet-{tag}-{n}")
    problems = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.name.startswith(watched)]
    assert problems == []
