"""Schedule benchmark: how late schedules fire relative to their time. Prints its figures.

    .venv/bin/python bench/schedule_bench.py

Runs about two minutes: a ``rate(1 minute)`` rule fires twice (its first firing one minute
after PutRule), alongside a ``cron(* * * * ? *)`` rule and a Scheduler ``rate(1 minute)``
schedule (which fires at creation, then every minute). Lateness is when the handler started
minus the scheduled time (the exact one, from the listing's ``NextFiringAt``), so it includes
the asynchronous queue and the invoke of a warm function.
"""

from __future__ import annotations

import calendar
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import client, control_plane

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:tick"
ROLE = "arn:aws:iam::123456789012:role/bench"
DEADLINE = 150.0


def planned(endpoint: str) -> dict[str, float]:
    rows = json.loads(urllib.request.urlopen(endpoint + "/_cloudmicro/schedules").read())["Schedules"]
    return {row["Name"]: row["NextFiringAt"] for row in rows if row["NextFiringAt"] is not None}


def iso_second(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def main() -> None:
    with control_plane("docker") as (endpoint, _):
        sqs, events, scheduler = client(endpoint, "sqs"), client(endpoint, "events"), client(endpoint, "scheduler")
        ticks = sqs.create_queue(QueueName="bench-ticks")["QueueUrl"]
        client(endpoint).invoke(FunctionName="tick", Payload=b"{}")  # a warm environment

        put_at = time.time()
        events.put_rule(Name="bench-rate", ScheduleExpression="rate(1 minute)")
        events.put_targets(Rule="bench-rate", Targets=[{"Id": "1", "Arn": FUNCTION}])
        events.put_rule(Name="bench-cron", ScheduleExpression="cron(* * * * ? *)")
        events.put_targets(Rule="bench-cron", Targets=[{"Id": "1", "Arn": FUNCTION}])
        scheduler.create_schedule(
            Name="bench-sched", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": FUNCTION, "RoleArn": ROLE,
                    "Input": json.dumps({"schedule": "bench-sched", "time": "<aws.scheduler.scheduled-time>"})})
        created_at = scheduler.get_schedule(Name="bench-sched")["CreationDate"].timestamp()

        # every planned firing time, exactly (the listing's times are refreshed as they pass)
        plan: dict[str, set[float]] = {"bench-rate": set(), "bench-cron": set(), "bench-sched": {created_at}}
        late: dict[str, list[float]] = {name: [] for name in plan}
        first_rate: float | None = None
        started = time.monotonic()
        while len(late["bench-rate"]) < 2 and time.monotonic() - started < DEADLINE:
            for name, at in planned(endpoint).items():
                if name in plan:
                    plan[name].add(at)
            for message in sqs.receive_message(QueueUrl=ticks, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=0).get("Messages", []):
                tick = json.loads(message["Body"])
                sqs.delete_message(QueueUrl=ticks, ReceiptHandle=message["ReceiptHandle"])
                second = iso_second(tick["time"])
                candidates = [p for p in plan[tick["name"]] if int(p) == second or abs(p - second) < 1.0]
                scheduled = min(candidates, key=lambda p: abs(p - second)) if candidates else float(second)
                late[tick["name"]].append(tick["at"] - scheduled)
                if tick["name"] == "bench-rate" and first_rate is None:
                    first_rate = scheduled
            time.sleep(0.2)

        print("lateness = handler start - scheduled time (async queue + warm invoke included)")
        for name, label in (("bench-rate", "rule rate(1 minute)"), ("bench-cron", "rule cron(* * * * ? *)"),
                            ("bench-sched", "Scheduler rate(1 minute)")):
            values = late[name]
            if not values:
                print(f"{label:28} no firing observed")
                continue
            figures = "  ".join(f"{v * 1000:7.1f} ms" for v in values)
            print(f"{label:28} {len(values)} firing(s): {figures}   max {max(values) * 1000:.1f} ms"
                  f"   (target: within 1000 ms)")
        print("  (the Scheduler schedule's first firing is at its creation, noticed by the 1 s refresh)")
        if first_rate is not None:
            print(f"rule rate(1 minute): first firing {first_rate - put_at:.2f} s after PutRule "
                  f"(AWS: a rate counts from the rule's creation; seen within the 1 s refresh)")
        every = [v for values in late.values() for v in values]
        if every:
            print(f"all firings: median {statistics.median(every) * 1000:.1f} ms, max {max(every) * 1000:.1f} ms "
                  f"(n={len(every)})")


if __name__ == "__main__":
    main()
