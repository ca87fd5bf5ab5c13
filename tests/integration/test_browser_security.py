"""What a web page in the developer's browser can and cannot do with the endpoint, with a real
browser (Debian's headless Chromium) sending the requests.

A page elsewhere (``http://evil.test:<port>``, which Chromium resolves to 127.0.0.1) sends the
cross-site requests that need no CORS preflight: a text/plain CreateFunction and Invoke, an S3
PUT, and tries to read Lambda and S3. A DNS-rebinding page (``http://rebind.test:<endpoint
port>``) is same-origin with the endpoint. A web app on ``http://localhost:<port>`` uses Lambda,
DynamoDB and a bucket with a CORS configuration, as it would use AWS.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import lambda_client
from tests.integration.recorded import aws, ensure_table, recorded, wait_for

#: what every page runs: its checks (a function of the endpoint), then POSTs the results home
PAGE = """<!doctype html><html><body><script>
const params = new URLSearchParams(location.search);
const ep = params.get("ep");
const tag = params.get("tag");
async function attempt(name, call) {
  try { return await call(); } catch (e) { return "blocked: " + e.name; }
}
async function main() {
  const out = {};
  %s
  await fetch("/result", {method: "POST", body: JSON.stringify(out)});
}
main();
</script></body></html>"""

EVIL_CHECKS = """
  const zip = params.get("zip");
  out.create = await attempt("create", async () => {
    const r = await fetch(ep + "/2015-03-31/functions", {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: JSON.stringify({FunctionName: "evil" + tag,
      Runtime: "python3.11", Handler: "app.handler", Role: "arn:aws:iam::123456789012:role/x",
      Code: {ZipFile: zip}})});
    return "sent: " + r.type;
  });
  out.invoke = await attempt("invoke", async () => {
    const r = await fetch(ep + "/2015-03-31/functions/recorder/invocations", {method: "POST",
      mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: JSON.stringify({tag: "evil-" + tag})});
    return "sent: " + r.type;
  });
  out.s3put = await attempt("s3put", async () => {  // S3's browser upload: a multipart form POST
    const form = new FormData();
    form.append("key", "evil.txt");
    form.append("file", new Blob(["pwned"]), "evil.txt");
    const r = await fetch(ep + "/" + params.get("bucket"), {method: "POST", mode: "no-cors", body: form});
    return "sent: " + r.type;
  });
  out.list = await attempt("list", async () => {
    const r = await fetch(ep + "/2015-03-31/functions");
    return "read " + r.status + ": " + (await r.text()).slice(0, 80);
  });
  out.s3get = await attempt("s3get", async () => {
    const r = await fetch(ep + "/" + params.get("bucket") + "/secret.txt");
    return "read " + r.status + ": " + (await r.text()).slice(0, 80);
  });
"""

LOCAL_CHECKS = """
  const sign = (service) => "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" + service +
    "/aws4_request, SignedHeaders=host, Signature=0";
  out.invoke = await attempt("invoke", async () => {
    const r = await fetch(ep + "/2015-03-31/functions/echo/invocations", {method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": sign("lambda")},
      body: JSON.stringify({from: "page-" + tag})});
    return {status: r.status, body: await r.json()};
  });
  out.tables = await attempt("tables", async () => {
    const r = await fetch(ep + "/", {method: "POST", headers: {"Authorization": sign("dynamodb"),
      "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
      body: "{}"});
    return {status: r.status, body: await r.json()};
  });
  out.put = await attempt("put", async () => {
    const r = await fetch(ep + "/" + params.get("open") + "/note.txt", {method: "PUT",
      headers: {"Content-Type": "text/plain", "Authorization": sign("s3")}, body: "from the page " + tag});
    return r.status;
  });
  out.get = await attempt("get", async () => {
    const r = await fetch(ep + "/" + params.get("open") + "/note.txt", {headers: {"Authorization": sign("s3")}});
    return await r.text();
  });
  out.closed = await attempt("closed", async () => {
    const r = await fetch(ep + "/" + params.get("closed") + "/note.txt", {headers: {"Authorization": sign("s3")}});
    return "read " + r.status;
  });
"""


class PageServer:
    """Serves one page on 127.0.0.1 and collects the results it POSTs back."""

    def __init__(self, checks: str) -> None:
        self.results: queue.Queue[dict[str, Any]] = queue.Queue()
        page = (PAGE % checks).encode()
        results = self.results

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                results.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("headless Chromium is needed for the browser tests: apt-get install chromium (scripts/setup does)")
    return found


def _browser(tmp_path: Path, *args: str) -> list[str]:
    return [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", f"--user-data-dir={tmp_path / 'chromium'}",
            "--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1", *args]


def browse(tmp_path: Path, page: PageServer, url: str, timeout: float = 60) -> dict[str, Any]:
    """Open ``url`` in headless Chromium and return what its page POSTed back."""
    browser = subprocess.Popen(_browser(tmp_path, url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return page.results.get(timeout=timeout)
    except queue.Empty:
        browser.kill()
        pytest.fail(f"the page reported nothing in {timeout} s: {browser.communicate()[1].decode()[-2000:]}")
    finally:
        browser.kill()
        browser.wait()


def zip_b64() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import os\ndef handler(event, context):\n    return os.listdir('/')\n")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def tag() -> str:
    return os.urandom(4).hex()


def test_a_page_elsewhere_can_neither_run_code_nor_read(process_endpoint, tmp_path, tag):
    endpoint = process_endpoint
    ensure_table(endpoint)
    s3 = aws(endpoint, "s3")
    bucket = f"private-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"the secret")
    page = PageServer(EVIL_CHECKS)
    try:
        query = f"ep={endpoint}&tag={tag}&bucket={bucket}&zip={urllib.request.quote(zip_b64())}"
        out = browse(tmp_path, page, f"http://evil.test:{page.port}/page.html?{query}")
    finally:
        page.close()
    # the no-cors requests were sent (the browser cannot see their answers), and did nothing
    assert out["create"] == out["invoke"] == out["s3put"] == "sent: opaque", out
    with pytest.raises(ClientError) as missing:
        lambda_client(endpoint).get_function(FunctionName=f"evil{tag}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="evil.txt")
    # the page read nothing
    assert out["list"].startswith("blocked: TypeError"), out
    assert out["s3get"].startswith("blocked: TypeError"), out
    # the same invoke from a local client runs: the recorder works, and saw nothing from the page
    lambda_client(endpoint).invoke(FunctionName="recorder", Payload=json.dumps({"tag": f"local-{tag}"}))
    wait_for(endpoint, f"local-{tag}")
    assert recorded(endpoint, f"evil-{tag}") == []


def test_a_dns_rebinding_page_is_refused(process_endpoint, tmp_path):
    port = process_endpoint.rsplit(":", 1)[1]
    done = subprocess.run(_browser(tmp_path, "--dump-dom", f"http://rebind.test:{port}/2015-03-31/functions"),
                          capture_output=True, text=True, timeout=60)
    assert "is not a local name" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert "FunctionName" not in done.stdout


def test_a_web_app_on_localhost_uses_lambda_dynamodb_and_bucket_cors(process_endpoint, tmp_path, tag):
    endpoint = process_endpoint
    page = PageServer(LOCAL_CHECKS)
    origin = f"http://localhost:{page.port}"
    s3 = aws(endpoint, "s3")
    opened, closed = f"open-{tag}", f"closed-{tag}"
    s3.create_bucket(Bucket=opened)
    s3.put_bucket_cors(Bucket=opened, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [origin], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]})
    s3.create_bucket(Bucket=closed)
    s3.put_object(Bucket=closed, Key="note.txt", Body=b"not for pages")
    try:
        out = browse(tmp_path, page, f"{origin}/page.html?ep={endpoint}&tag={tag}&open={opened}&closed={closed}")
    finally:
        page.close()
    assert out["invoke"]["status"] == 200, out
    assert out["invoke"]["body"]["event"] == {"from": f"page-{tag}"}, out
    assert out["tables"]["status"] == 200 and "TableNames" in out["tables"]["body"], out
    assert out["put"] == 200, out
    assert out["get"] == f"from the page {tag}", out
    assert s3.get_object(Bucket=opened, Key="note.txt")["Body"].read() == f"from the page {tag}".encode()
    assert out["closed"].startswith("blocked: TypeError"), out  # no CORS rule for the page: as on AWS


def _request(url: str, method: str = "GET", data: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_what_the_guard_answers_on_the_wire(process_endpoint):
    endpoint = process_endpoint
    # a foreign Origin: 403 before anything runs; a local one on any port: served
    status, _, body = _request(endpoint + "/2015-03-31/functions", headers={"Origin": "https://example.com"})
    assert status == 403 and b"CLOUDMICRO_CORS_ORIGINS" in body
    status, headers, _ = _request(endpoint + "/2015-03-31/functions", headers={"Origin": "http://127.0.0.1:3000"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    # "null" (a file:// page or a sandboxed frame) is no local origin
    assert _request(endpoint + "/2015-03-31/functions", headers={"Origin": "null"})[0] == 403
    # a preflight from a foreign origin is refused; from a local one, answered
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    assert _request(endpoint + "/", "OPTIONS", headers={**preflight, "Origin": "http://evil.test"})[0] == 403
    status, headers, _ = _request(endpoint + "/", "OPTIONS", headers={**preflight, "Origin": "http://localhost:5173"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:5173"
    # a Host that is no local name: 403
    assert _request(endpoint + "/2015-03-31/functions", headers={"Host": "attacker.example"})[0] == 403
    # Lambda's JSON APIs take JSON: a form or text body (no Origin at all) gets AWS's 415
    status, headers, body = _request(endpoint + "/2015-03-31/functions/echo/invocations", "POST", b"{}",
                                     {"Content-Type": "text/plain"})
    assert status == 415 and headers["x-amzn-errortype"] == "UnsupportedMediaTypeException", body
    status, _, body = _request(endpoint + "/2015-03-31/functions/echo/invocations", "POST", b"{}",
                               {"Content-Type": "application/json"})
    assert status == 200


API_CHECKS = """
  out.cors = await attempt("cors", async () => {
    const r = await fetch(params.get("api") + "/hello?x=1", {headers: {"X-App": "page-" + tag}});
    const body = await r.json();
    return {status: r.status, header: body.event.headers["x-app"], route: body.event.routeKey};
  });
  out.closed = await attempt("closed", async () => {
    const r = await fetch(params.get("closed") + "/hello", {headers: {"X-App": "page"}});
    return "read " + r.status;
  });
"""


def test_a_web_app_on_localhost_calls_an_http_api_with_its_cors_configuration(process_endpoint, tmp_path, tag):
    endpoint = process_endpoint
    page = PageServer(API_CHECKS)
    origin = f"http://localhost:{page.port}"
    v2 = aws(endpoint, "apigatewayv2")
    target = "arn:aws:lambda:us-east-1:123456789012:function:echo"
    opened = v2.create_api(Name=f"cors-{tag}", ProtocolType="HTTP", Target=target, CorsConfiguration={
        "AllowOrigins": [origin], "AllowMethods": ["GET"], "AllowHeaders": ["x-app"], "MaxAge": 60})["ApiId"]
    closed = v2.create_api(Name=f"nocors-{tag}", ProtocolType="HTTP", Target=target)["ApiId"]
    base = f"{endpoint}/_aws/execute-api"
    try:
        out = browse(tmp_path, page, f"{origin}/page.html?tag={tag}&api={base}/{opened}&closed={base}/{closed}")
    finally:
        page.close()
    # the browser's preflight was answered by the API's CORS settings, then the GET ran the function
    assert out["cors"] == {"status": 200, "header": f"page-{tag}", "route": "$default"}, out
    assert out["closed"].startswith("blocked: TypeError"), out  # no CORS configuration: as on AWS
