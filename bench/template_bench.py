"""Template dev loop benchmark (issue 14). Prints, for ``cloudmicro dev --template`` (Docker):

* a template with 20 functions from local folders, each fed by its own SQS queue through an
  EventSourceMapping: the time from starting ``dev --template`` to all 20 functions listed and
  all 20 mappings enabled, and to a message through the last queue handled (target: < 3 s,
  warm images assumed);
* saving a function's code file: the time to the next invoke answering with the new code
  (p50 over 10 saves; target: < 300 ms, as for folder functions);
* warm invoke of a template function against the same code as a folder function, served by the
  same control plane (target: no difference).

    .venv/bin/python bench/template_bench.py [--functions 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, client, free_port

CODE = """import boto3, os

def handler(event, context):
    if "Records" in event:
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=os.environ["SEEN"])["QueueUrl"]
        for record in event["Records"]:
            sqs.send_message(QueueUrl=url, MessageBody="seen:" + record["body"])
        return None
    return {"version": VERSION}
"""


def template(count: int) -> str:
    resources: dict[str, Any] = {"Seen": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "bench-seen"}}}
    for index in range(count):
        resources[f"Queue{index}"] = {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}
        resources[f"Fn{index}"] = {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": f"bench-fn-{index}", "Runtime": "python3.11", "Handler": "app.handler",
            "Role": "arn:aws:iam::123456789012:role/bench", "Code": f"src/fn{index}", "Timeout": 10,
            "Environment": {"Variables": {"SEEN": "bench-seen"}}}}
        resources[f"Mapping{index}"] = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": {"Ref": f"Fn{index}"}, "EventSourceArn": {"Fn::GetAtt": [f"Queue{index}", "Arn"]},
            "BatchSize": 1}}
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


def wait(what: str, check: Any, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"{what}: not within {timeout} s")


def warm_p50(lam: Any, name: str, samples: int = 200) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=20)
    args = parser.parse_args()
    count = args.functions
    with tempfile.TemporaryDirectory(prefix="cloudmicro-template-") as tmp:
        project = Path(tmp) / "app"
        for index in range(count):
            (project / "src" / f"fn{index}").mkdir(parents=True)
            (project / "src" / f"fn{index}" / "app.py").write_text(CODE.replace("VERSION", "0"))
        (project / "functions" / "twin").mkdir(parents=True)
        (project / "functions" / "twin" / "app.py").write_text(CODE.replace("VERSION", "0"))
        (project / "functions" / "twin" / "function.json").write_text(json.dumps({"Handler": "app.handler"}))
        (project / "template.json").write_text(template(count))
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        env = {**os.environ, "CLOUDMICRO_STATE_DIR": str(Path(tmp) / "state"), "CLOUDMICRO_SEED_ON_START": "false"}
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "emulator", "dev", "--template", str(project / "template.json"),
                                 "--port", str(port), "--executor", "docker", "--functions-dir",
                                 str(project / "functions")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            lam = client(endpoint)
            sqs = client(endpoint, "sqs")

            def listed() -> bool:
                # the mappings first, the functions once they are all enabled: one request per
                # probe, not two, so that probing takes less of the CPU the start is measured on
                try:
                    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
                    if sum(m["State"] == "Enabled" for m in mappings) < count:
                        return False
                    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
                except Exception:  # noqa: BLE001 - not up yet
                    return False
                return all(f"bench-fn-{i}" in names for i in range(count))

            live = wait("functions and mappings", listed)
            seen = sqs.get_queue_url(QueueName="bench-seen")["QueueUrl"]
            last = sqs.list_queues(QueueNamePrefix="app-Queue" + str(count - 1))["QueueUrls"][0]
            sqs.send_message(QueueUrl=last, MessageBody="ping")

            def handled() -> bool:
                messages = sqs.receive_message(QueueUrl=seen, WaitTimeSeconds=0).get("Messages", [])
                return any(m["Body"] == "seen:ping" for m in messages)

            through = wait("a message through the last queue", handled)
            print(f"dev --template, {count} functions + {count} SQS mappings: all listed and enabled after "
                  f"{live - started:.2f} s, a message through the last queue handled after {through - started:.2f} s"
                  "   (target < 3 s, warm images)")

            code = project / "src" / "fn0" / "app.py"
            lam.invoke(FunctionName="bench-fn-0", Payload=b"{}")["Payload"].read()
            reloads = []
            for version in range(1, 11):
                code.write_text(CODE.replace("VERSION", str(version)))
                saved = time.monotonic()

                def new(version: int = version) -> bool:
                    answer = json.loads(lam.invoke(FunctionName="bench-fn-0", Payload=b"{}")["Payload"].read())
                    return bool(answer == {"version": version})

                reloads.append((wait("the saved code", new, 10) - saved) * 1000)
            print(f"save a CodeUri file -> new code answers: p50 {statistics.median(reloads):.0f} ms, "
                  f"max {max(reloads):.0f} ms (n=10)   (target < 300 ms)")

            warm_p50(lam, "bench-fn-1", 20)
            warm_p50(lam, "twin", 20)
            rounds: dict[str, list[float]] = {"bench-fn-1": [], "twin": []}
            for round_ in range(8):  # alternating batches: the machine's noise falls on both alike
                for name in ("bench-fn-1", "twin") if round_ % 2 == 0 else ("twin", "bench-fn-1"):
                    rounds[name].append(warm_p50(lam, name, 50))
            template_p50 = statistics.median(rounds["bench-fn-1"])
            folder_p50 = statistics.median(rounds["twin"])
            print(f"warm invoke: template function p50 {template_p50:.2f} ms, folder function p50 {folder_p50:.2f} ms, "
                  f"ratio {template_p50 / folder_p50:.2f}   (target: no difference)")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
