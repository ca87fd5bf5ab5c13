"""HTTP front door benchmark (issue 13). Prints, against one control plane (Docker executor):

* warm latency: an HTTP request through a REST API's Lambda proxy route, and through an HTTP
  API, against a direct Invoke of the same function through the same server, both sent raw
  (keep-alive ``http.client``, no signing) in alternating batches (target: <= 1.3x);
* throughput: 8 concurrent keep-alive clients on the REST route for a few seconds (target:
  >= 800 requests/s, 0 errors);
* 8 concurrent 1 s requests: parallel environments, not queued (target: < 2 s);
* what a cached Lambda authorizer adds to a request (target: < 1 ms);
* streaming: a RESPONSE_STREAM function URL, time from the function's write to the client
  (target: < 50 ms);
* the AWS SAM CLI's ``sam local start-api``, side by side, where it can run.

    .venv/bin/python bench/frontdoor_bench.py [--seconds 5] [--samples 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, client, control_plane, percentile

PROXY = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok"}
"""
NAP = """
import time

def handler(event, context):
    time.sleep(1)
    return {"statusCode": 200, "body": "rested"}
"""
AUTHORIZER = """
def handler(event, context):
    api = event["methodArn"].split("/")[0]
    return {"principalId": "bench", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api + "/*"}]}}
"""
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"


def uri(name: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{LAMBDA}{name}/invocations"


class Raw:
    """One keep-alive connection, as a load balancer or a browser keeps one."""

    def __init__(self, endpoint: str) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        self.connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, bytes]:
        self.connection.request(method, path, body=body, headers=headers or {})
        reply = self.connection.getresponse()
        return reply.status, reply.read()

    def timed(self, method: str, path: str, samples: int, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> float:
        """The median latency of ``samples`` requests, in ms (each must answer 200)."""
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            status, data = self.send(method, path, body, headers)
            times.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{method} {path}: {status} {data[:200]!r}")
        return statistics.median(times)


def build(endpoint: str) -> dict[str, str]:
    """The APIs: a REST API (/{proxy+} to proxy, /nap to nap, /guarded behind a TOKEN authorizer)
    and an HTTP API quick-created on proxy."""
    apigw = client(endpoint, "apigateway")
    api = apigw.create_rest_api(name="bench")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    authorizer = apigw.create_authorizer(restApiId=api, name="allow", type="TOKEN", authorizerUri=uri("allow"),
                                         identitySource="method.request.header.Authorization")["id"]
    for part, target, auth in (("{proxy+}", "proxy", {}), ("nap", "nap", {}),
                               ("guarded", "proxy", {"authorizationType": "CUSTOM", "authorizerId": authorizer})):
        resource = apigw.create_resource(restApiId=api, parentId=root, pathPart=part)["id"]
        apigw.put_method(restApiId=api, resourceId=resource, httpMethod="ANY",
                         **({"authorizationType": "NONE"} | auth))
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="ANY", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri(target))
    apigw.create_deployment(restApiId=api, stageName="prod")
    http_api = client(endpoint, "apigatewayv2").create_api(Name="bench", ProtocolType="HTTP",
                                                            Target=f"{LAMBDA}proxy")["ApiId"]
    lam = client(endpoint)
    stream_url = lam.create_function_url_config(FunctionName="streamer", AuthType="NONE",
                                                InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    return {"rest": f"/_aws/execute-api/{api}/prod", "http": f"/_aws/execute-api/{http_api}",
            "stream": f"/_aws/lambda-url/{stream_url.split('//', 1)[1].split('.', 1)[0]}"}


def warm_latency(endpoint: str, paths: dict[str, str], samples: int, rounds: int = 6) -> None:
    raw = Raw(endpoint)
    invoke = ("POST", "/2015-03-31/functions/proxy/invocations", b"{}")
    rest = ("GET", paths["rest"] + "/items/1", None)
    http_api = ("GET", paths["http"] + "/items/1", None)
    for method, path, body in (invoke, rest, http_api):
        raw.timed(method, path, 50, body)  # warm environments and connection
    medians: dict[str, list[float]] = {"invoke": [], "rest": [], "http": []}
    for _ in range(rounds):
        for name, (method, path, body) in (("invoke", invoke), ("rest", rest), ("http", http_api)):
            medians[name].append(raw.timed(method, path, samples // rounds, body))
    direct = statistics.median(medians["invoke"])
    for name, label in (("rest", "REST API proxy"), ("http", "HTTP API proxy")):
        value = statistics.median(medians[name])
        print(f"warm {label:15} p50 {value:6.2f} ms   direct Invoke p50 {direct:6.2f} ms   "
              f"ratio {value / direct:.2f}x   (target <= 1.3x)")


def throughput(endpoint: str, paths: dict[str, str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    counts: list[int] = []
    errors: list[str] = []

    def work() -> None:
        raw = Raw(endpoint)
        done = 0
        while time.monotonic() < deadline:
            try:
                status, _ = raw.send("GET", paths["rest"] + "/items/1")
                if status != 200:
                    errors.append(str(status))
                done += 1
            except OSError as error:
                errors.append(repr(error))
                raw = Raw(endpoint)
        counts.append(done)

    threads = [threading.Thread(target=work) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    print(f"throughput       {sum(counts) / elapsed:6.0f} requests/s with 8 keep-alive clients for {seconds:.0f} s "
          f"({sum(counts)} answered, {len(errors)} errors)   (target >= 800/s, 0 errors)")


def parallel(endpoint: str, paths: dict[str, str]) -> None:
    def one(_: int) -> int:
        return Raw(endpoint).send("GET", paths["rest"] + "/nap")[0]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(8)))  # cold starts out of the way
        started = time.monotonic()
        statuses = list(pool.map(one, range(8)))
        elapsed = time.monotonic() - started
    print(f"8 concurrent 1 s {elapsed:6.2f} s wall, statuses {sorted(set(statuses))}   (target < 2 s)")


def authorizer_cost(endpoint: str, paths: dict[str, str], samples: int, rounds: int = 6) -> None:
    raw = Raw(endpoint)
    plain = paths["rest"] + "/items/1"
    guarded = paths["rest"] + "/guarded"
    token = {"Authorization": "bench"}
    raw.timed("GET", guarded, 20, headers=token)  # the authorizer's first call fills the cache
    raw.timed("GET", plain, 20)
    with_auth, without = [], []
    for _ in range(rounds):
        without.append(raw.timed("GET", plain, samples // rounds))
        with_auth.append(raw.timed("GET", guarded, samples // rounds, headers=token))
    added = statistics.median(with_auth) - statistics.median(without)
    print(f"authorizer cache hit adds {added:+.2f} ms (p50 {statistics.median(with_auth):.2f} vs "
          f"{statistics.median(without):.2f} ms)   (target < 1 ms)")


def streaming(endpoint: str, paths: dict[str, str], streams: int = 10) -> None:
    delays, firsts = [], []
    for _ in range(streams):
        parsed = urllib.parse.urlsplit(endpoint)
        connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)
        started = time.time()
        connection.request("GET", paths["stream"] + "/?chunks=3&interval=0.2")
        reply = connection.getresponse()
        data = reply.read1(65536)
        arrived = time.time()
        written = json.loads(data.split(b"\n", 1)[0])["t"]
        delays.append((arrived - written) * 1000)
        firsts.append((arrived - started) * 1000)
        reply.read()
        connection.close()
    print(f"streaming URL    write -> client p50 {statistics.median(delays):5.1f} ms  "
          f"p90 {percentile(delays, 90):5.1f} ms   request -> first chunk p50 {statistics.median(firsts):5.1f} ms"
          "   (target < 50 ms)")


def sam_side_by_side() -> None:
    sam = shutil.which("sam")
    if sam is None:
        print("sam local start-api: not compared: the AWS SAM CLI is not installed here, and it could not run "
              "anyway: it pulls its runtime images (public.ecr.aws/lambda/python) from a registry, and this "
              "machine reaches none")
        return
    print(f"sam local start-api: {sam} is installed, but its images come from public.ecr.aws, which this "
          "machine cannot reach: not compared")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cloudmicro-frontdoor-") as tmp:
        functions = Path(tmp) / "functions"
        for name, code in (("proxy", PROXY), ("nap", NAP), ("allow", AUTHORIZER)):
            (functions / name).mkdir(parents=True)
            (functions / name / "app.py").write_text(code)
            (functions / name / "function.json").write_text(json.dumps({"Handler": "app.handler", "Timeout": 10}))
        shutil.copytree(ROOT / "tests" / "streaming_functions" / "streamer", functions / "streamer")
        with control_plane("docker", functions, CLOUDMICRO_STATE_DIR=str(Path(tmp) / "state"),
                           CLOUDMICRO_SEED_ON_START="false") as (endpoint, _pid):
            paths = build(endpoint)
            warm_latency(endpoint, paths, args.samples)
            throughput(endpoint, paths, args.seconds)
            parallel(endpoint, paths)
            authorizer_cost(endpoint, paths, args.samples)
            streaming(endpoint, paths)
    sam_side_by_side()


if __name__ == "__main__":
    main()
