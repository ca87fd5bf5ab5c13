"""REST API (v1) non-proxy integrations served for real through the front door: MOCK, AWS service
actions with VTL request/response mapping templates (SQS, SNS, DynamoDB, EventBridge, Step
Functions), Lambda non-proxy with a selectionPattern, HTTP and HTTP_PROXY to a local server, a
broken template; and the Destined Lambda's front half: API Gateway -> SNS -> a Lambda function
whose Destinations reach EventBridge rules that target SQS queues. APIs are made with boto3 as
a developer makes them; requests go through ``/_aws/execute-api/{id}/{stage}/...``.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulator.testing.pytest_plugin import client as plugin_client
from tests.integration.probes import quiet, until

ACCOUNT = "123456789012"
REGION = "us-east-1"
FORM = {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}
ECHO = '''
def handler(event, context):
    if event.get("fail"):
        raise ValueError("Bad request: " + str(event["fail"]))
    return {"got": event}
'''
DESTINED = '''
import json

def handler(event, context):
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    if not message.get("ok"):
        raise RuntimeError("refused " + message["tag"])
    return {"accepted": message["tag"]}
'''


def lambda_uri(name: str) -> str:
    return (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}/invocations")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, cloudmicro_server: Any, docker_engine: Any) -> str:
    functions = tmp_path_factory.mktemp("integrations") / "functions"
    for name, code in (("echo", ECHO), ("destined", DESTINED)):
        (functions / name).mkdir(parents=True)
        (functions / name / "app.py").write_text(code)
        (functions / name / "function.json").write_text(json.dumps({"Handler": "app.handler"}))
    return str(cloudmicro_server(functions_dir=functions, executor="docker", state_dir=functions.parent / "state",
                                 deps_dir=None, seed_on_start=False, idle_timeout=600))


class Api:
    """A REST API being built: resources by path, methods with their integration."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.endpoint = endpoint
        self.apigw = plugin_client(endpoint, "apigateway")
        self.id = self.apigw.create_rest_api(name=name)["id"]
        self.resources = {"/": self.apigw.get_resources(restApiId=self.id)["items"][0]["id"]}

    def resource(self, path: str) -> str:
        if path not in self.resources:
            parent, _, part = path.rpartition("/")
            self.resources[path] = self.apigw.create_resource(
                restApiId=self.id, parentId=self.resource(parent or "/"), pathPart=part)["id"]
        return self.resources[path]

    def method(self, path: str, http_method: str, *, responses: dict[str, dict[str, Any]] | None = None,
               **integration: Any) -> None:
        resource = self.resource(path)
        self.apigw.put_method(restApiId=self.id, resourceId=resource, httpMethod=http_method,
                              authorizationType="NONE")
        self.apigw.put_integration(restApiId=self.id, resourceId=resource, httpMethod=http_method, **integration)
        for status, response in (responses or {"200": {}}).items():
            headers = {target: False for target in response.get("responseParameters", {})}
            self.apigw.put_method_response(restApiId=self.id, resourceId=resource, httpMethod=http_method,
                                           statusCode=status, responseParameters=headers)
            self.apigw.put_integration_response(restApiId=self.id, resourceId=resource, httpMethod=http_method,
                                                statusCode=status, **response)

    def deploy(self, stage: str = "dev", variables: dict[str, str] | None = None) -> None:
        self.apigw.create_deployment(restApiId=self.id, stageName=stage, variables=variables or {})

    def url(self, path: str, stage: str = "dev") -> str:
        return f"{self.endpoint}/_aws/execute-api/{self.id}/{stage}{path}"


def receive(endpoint: str, url: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """Drain the queue until ``count`` messages arrived (a probe loop, no fixed sleep)."""
    sqs = plugin_client(endpoint, "sqs")
    got: list[dict[str, Any]] = []

    def drained() -> bool:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    until(drained, timeout, f"{count} message(s) in {url}")
    return got


def queue(endpoint: str, name: str) -> tuple[str, str]:
    url = plugin_client(endpoint, "sqs").create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


# --------------------------------------------------------------------------- MOCK and templates


def test_mock_picks_the_status_and_the_integration_response_renders(endpoint: str) -> None:
    api = Api(endpoint, "mock")
    api.method("/greet/{name}", "GET", type="MOCK",
               requestTemplates={"application/json": '{"statusCode": #if($input.params("fail") == "yes")404'
                                                     '#{else}200#end}'},
               responses={
                   "200": {"responseTemplates": {"application/json": (
                       '{"hello": "$input.params(\'name\')", "stage": "$context.stage", '
                       '"path": "$context.resourcePath", "ip": "$context.identity.sourceIp", '
                       '"color": "$stageVariables.color", "q": "$util.escapeJavaScript($input.params(\'q\'))", '
                       '"requestId": "$context.requestId"}')},
                           "responseParameters": {"method.response.header.X-Static": "'fixed'",
                                                  "method.response.header.X-Name": "method.request.path.name"}},
                   "404": {"selectionPattern": "404",
                           "responseTemplates": {"application/json": '{"missing": "$input.params(\'name\')"}'}},
               })
    api.method("/strict", "POST", type="MOCK", passthroughBehavior="NEVER",
               requestTemplates={"application/json": '{"statusCode": 200}'})
    api.deploy(variables={"color": "blue"})

    reply = requests.get(api.url("/greet/ada"), params={"q": 'say "hi"'}, timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body == {"hello": "ada", "stage": "dev", "path": "/greet/{name}", "ip": "127.0.0.1", "color": "blue",
                    "q": 'say "hi"', "requestId": reply.headers["x-amzn-RequestId"]}
    assert reply.headers["X-Static"] == "fixed" and reply.headers["X-Name"] == "ada"
    assert reply.headers["Content-Type"] == "application/json"

    missing = requests.get(api.url("/greet/bob"), params={"fail": "yes"}, timeout=30)
    assert missing.status_code == 404 and missing.json() == {"missing": "bob"}

    # NEVER: a content type without a template is refused, as API Gateway refuses it
    refused = requests.post(api.url("/strict"), data="a,b", headers={"Content-Type": "text/csv"}, timeout=30)
    assert refused.status_code == 415 and refused.json() == {"message": "Unsupported Media Type"}
    assert requests.post(api.url("/strict"), json={}, timeout=30).status_code == 200


def test_cors_as_a_rest_api_configures_it_an_options_mock_method_answers_the_preflight(endpoint: str) -> None:
    """REST APIs do CORS with an OPTIONS method whose MOCK integration answers the preflight
    (what the console's "Enable CORS" and SAM make), and the proxy function adds the header to
    its own answers."""
    api = Api(endpoint, "cors")
    allow = {"method.response.header.Access-Control-Allow-Origin": "'http://localhost:3000'",
             "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
             "method.response.header.Access-Control-Allow-Headers": "'Content-Type,X-App'"}
    api.method("/items", "OPTIONS", type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'},
               responses={"200": {"responseParameters": allow}})
    api.method("/items", "GET", type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'},
               responses={"200": {"responseParameters": {
                   "method.response.header.Access-Control-Allow-Origin": "'http://localhost:3000'"},
                   "responseTemplates": {"application/json": '{"items": []}'}}})
    api.deploy()
    preflight = requests.options(api.url("/items"), headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-App"}, timeout=30)
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type,X-App"
    got = requests.get(api.url("/items"), headers={"Origin": "http://localhost:3000"}, timeout=30)
    assert got.json() == {"items": []} and got.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_a_broken_template_gets_500_and_a_body_that_is_not_json_400(endpoint: str) -> None:
    api = Api(endpoint, "broken")
    api.method("/broken", "POST", type="MOCK",
               requestTemplates={"application/json": '{"statusCode": 200, "x": $util.parseJson("{not json")}'})
    api.method("/json", "POST", type="MOCK",
               requestTemplates={"application/json": '{"statusCode": 200, "x": $input.json("$.a")}'},
               responses={"200": {"responseTemplates": {"application/json": '{"ok": true}'}}})
    api.deploy()
    broken = requests.post(api.url("/broken"), json={"a": 1}, timeout=30)
    assert broken.status_code == 500 and broken.json() == {"message": "Internal server error"}
    assert requests.post(api.url("/json"), json={"a": 1}, timeout=30).json() == {"ok": True}
    bad = requests.post(api.url("/json"), data="{nope", headers={"Content-Type": "application/json"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["message"].startswith("Could not parse request body into json")
    # the control plane is still serving
    assert requests.post(api.url("/json"), json={"a": 2}, timeout=30).status_code == 200


# --------------------------------------------------------------------------- AWS service integrations


def test_sqs_send_message_through_a_vtl_template(endpoint: str) -> None:
    url, _ = queue(endpoint, "orders-in")
    api = Api(endpoint, "sqs")
    api.method("/orders", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/orders-in", requestParameters=FORM,
               requestTemplates={"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
               responses={"200": {"responseTemplates": {"application/json": (
                   '{"id": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}')}}})
    api.deploy()
    reply = requests.post(api.url("/orders"), json={"order": 7, "note": "a&b=c"}, timeout=30)
    assert reply.status_code == 200, reply.text
    [message] = receive(endpoint, url)
    assert json.loads(message["Body"]) == {"order": 7, "note": "a&b=c"}
    assert reply.json() == {"id": message["MessageId"]}


def test_sns_publish_reaches_a_subscribed_queue(endpoint: str) -> None:
    sns = plugin_client(endpoint, "sns")
    topic = sns.create_topic(Name="news")["TopicArn"]
    url, arn = queue(endpoint, "news-reader")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    api = Api(endpoint, "sns")
    api.method("/news", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:sns:action/Publish", requestParameters=FORM,
               requestTemplates={"application/json": (
                   f"TopicArn=$util.urlEncode('{topic}')&Message=$util.urlEncode($input.body)")},
               responses={"200": {"responseTemplates": {"application/json": (
                   '{"messageId": "$input.path(\'$.PublishResponse.PublishResult.MessageId\')"}')}}})
    api.deploy()
    reply = requests.post(api.url("/news"), json={"headline": "VTL works"}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["messageId"]
    [message] = receive(endpoint, url)
    assert json.loads(message["Body"]) == {"headline": "VTL works"}


def test_dynamodb_put_item_then_get_item(endpoint: str) -> None:
    plugin_client(endpoint, "dynamodb").create_table(
        TableName="people", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    api = Api(endpoint, "dynamodb")
    api.method("/people", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:dynamodb:action/PutItem",
               requestTemplates={"application/json": (
                   '{"TableName": "people", "Item": {"id": {"S": "$input.path(\'$.id\')"}, '
                   '"name": {"S": "$util.escapeJavaScript($input.path(\'$.name\'))"}}}')},
               responses={"200": {"responseTemplates": {"application/json": '{"stored": true}'}},
                          "400": {"selectionPattern": "4\\d\\d",
                                  "responseTemplates": {"application/json": '{"error": $input.json(\'$\')}'}}})
    api.method("/people/{id}", "GET", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:dynamodb:action/GetItem",
               requestTemplates={"application/json": (
                   '{"TableName": "people", "Key": {"id": {"S": "$input.params(\'id\')"}}}')},
               responses={"200": {"responseTemplates": {"application/json": (
                   '#set($item = $input.path(\'$.Item\'))'
                   '{"id": "$item.id.S", "name": "$util.escapeJavaScript($item.name.S)", "fields": $item.size()}')}}})
    api.deploy()
    put = requests.post(api.url("/people"), json={"id": "p1", "name": "Ada \"Countess\" Lovelace"}, timeout=30)
    assert put.status_code == 200 and put.json() == {"stored": True}, put.text
    got = requests.get(api.url("/people/p1"), timeout=30)
    assert got.status_code == 200, got.text
    assert got.json() == {"id": "p1", "name": "Ada \"Countess\" Lovelace", "fields": 2}
    item = plugin_client(endpoint, "dynamodb").get_item(TableName="people", Key={"id": {"S": "p1"}})["Item"]
    assert item["name"] == {"S": 'Ada "Countess" Lovelace'}
    # DynamoDB's own error (no such table) goes through selectionPattern on the status code
    api.method("/nowhere", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:dynamodb:action/PutItem",
               requestTemplates={"application/json": '{"TableName": "nope", "Item": {"id": {"S": "x"}}}'},
               responses={"200": {}, "400": {"selectionPattern": "4\\d\\d",
                                             "responseTemplates": {"application/json": '{"error": $input.json(\'$\')}'}}})
    api.deploy()
    failed = requests.post(api.url("/nowhere"), json={}, timeout=30)
    assert failed.status_code == 400 and "ResourceNotFoundException" in failed.text


def test_eventbridge_put_events_reach_a_rule_targeting_a_queue(endpoint: str) -> None:
    url, arn = queue(endpoint, "audit")
    events = plugin_client(endpoint, "events")
    events.put_rule(Name="audit-orders", EventPattern=json.dumps({"source": ["shop.api"]}))
    events.put_targets(Rule="audit-orders", Targets=[{"Id": "q", "Arn": arn}])
    api = Api(endpoint, "events")
    api.method("/events", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:events:action/PutEvents",
               requestTemplates={"application/json": (
                   '{"Entries": [{"Source": "shop.api", "DetailType": "order", '
                   '"Detail": "$util.escapeJavaScript($input.json(\'$\'))", "EventBusName": "default"}]}')},
               responses={"200": {"responseTemplates": {"application/json": (
                   '{"failed": $input.path(\'$.FailedEntryCount\'), '
                   '"id": "$input.path(\'$.Entries[0].EventId\')"}')}}})
    api.deploy()
    reply = requests.post(api.url("/events"), json={"order": 9}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["failed"] == 0 and reply.json()["id"]
    [message] = receive(endpoint, url)
    event = json.loads(message["Body"])
    assert event["source"] == "shop.api" and event["detail-type"] == "order" and event["detail"] == {"order": 9}


def test_step_functions_start_execution_answers_the_execution_arn(endpoint: str) -> None:
    sfn = plugin_client(endpoint, "stepfunctions")
    machine = sfn.create_state_machine(
        name="checkout", roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    api = Api(endpoint, "states")
    api.method("/checkout", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:states:action/StartExecution",
               requestTemplates={"application/json": (
                   f'{{"stateMachineArn": "{machine}", "input": "$util.escapeJavaScript($input.json(\'$\'))"}}')},
               responses={"200": {"responseTemplates": {"application/json": (
                   '{"executionArn": "$input.path(\'$.executionArn\')"}')}}})
    api.deploy()
    reply = requests.post(api.url("/checkout"), json={"cart": [1, 2]}, timeout=30)
    assert reply.status_code == 200, reply.text
    execution = reply.json()["executionArn"]
    assert execution.startswith(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:checkout:")
    described = sfn.describe_execution(executionArn=execution)
    assert json.loads(described["input"]) == {"cart": [1, 2]}


def test_lambda_non_proxy_maps_a_function_error_to_400_by_selection_pattern(endpoint: str) -> None:
    api = Api(endpoint, "lambda")
    api.method("/echo/{word}", "POST", type="AWS", integrationHttpMethod="POST", uri=lambda_uri("echo"),
               requestTemplates={"application/json": (
                   '{"word": "$input.params(\'word\')", "body": $input.json(\'$\')'
                   '#if($input.params(\'fail\') != ""), "fail": "$input.params(\'fail\')"#end}')},
               responses={
                   "200": {"responseTemplates": {"application/json": '{"echoed": $input.json(\'$.got\')}'}},
                   "400": {"selectionPattern": "Bad request.*",
                           "responseTemplates": {"application/json": (
                               '{"error": "$input.path(\'$.errorMessage\')", '
                               '"type": "$input.path(\'$.errorType\')"}')}},
               })
    api.deploy()
    ok = requests.post(api.url("/echo/hi"), json={"n": 1}, timeout=60)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"echoed": {"word": "hi", "body": {"n": 1}}}
    failed = requests.post(api.url("/echo/hi"), params={"fail": "empty"}, json={}, timeout=60)
    assert failed.status_code == 400, failed.text
    assert failed.json() == {"error": "Bad request: empty", "type": "ValueError"}


# --------------------------------------------------------------------------- HTTP and HTTP_PROXY


class _Target(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(2)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"method": self.command, "path": self.path, "body": self.rfile.read(length).decode(),
                           "x-client": self.headers.get("X-Client"), "x-mapped": self.headers.get("X-Mapped")})
        status = 418 if "teapot" in self.path else 200
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Target", "local")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow request: API Gateway gave up on it (504)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_proxy_and_http_integrations_reach_a_local_server(endpoint: str, target: str) -> None:
    api = Api(endpoint, "http")
    api.method("/site/{proxy+}", "ANY", type="HTTP_PROXY", integrationHttpMethod="ANY", uri=f"{target}/{{proxy}}",
               requestParameters={"integration.request.path.proxy": "method.request.path.proxy"})
    api.method("/mapped", "POST", type="HTTP", integrationHttpMethod="PUT", uri=f"{target}/mapped",
               requestParameters={"integration.request.header.X-Mapped": "method.request.querystring.who"},
               requestTemplates={"application/json": '{"wrapped": $input.json(\'$\')}'},
               responses={"200": {"responseTemplates": {"application/json": '{"saw": $input.json(\'$\')}'},
                                  "responseParameters": {"method.response.header.X-From":
                                                         "integration.response.header.X-Target"}},
                          "502": {"selectionPattern": "418"}})
    api.method("/slow", "GET", type="HTTP_PROXY", integrationHttpMethod="GET", uri=f"{target}/slow",
               timeoutInMillis=500)
    api.deploy()

    proxied = requests.post(api.url("/site/a/b"), params={"x": "1"}, data=b"raw body",
                            headers={"X-Client": "yes", "Content-Type": "text/plain"}, timeout=30)
    assert proxied.status_code == 200, proxied.text
    assert proxied.headers["X-Target"] == "local"
    assert proxied.json() == {"method": "POST", "path": "/a/b?x=1", "body": "raw body", "x-client": "yes",
                              "x-mapped": None}
    teapot = requests.get(api.url("/site/teapot"), timeout=30)
    assert teapot.status_code == 418  # HTTP_PROXY passes the status through

    mapped = requests.post(api.url("/mapped"), params={"who": "me"}, json={"k": "v"}, timeout=30)
    assert mapped.status_code == 200, mapped.text
    assert mapped.headers["X-From"] == "local"
    saw = mapped.json()["saw"]
    assert saw["method"] == "PUT" and saw["path"] == "/mapped" and saw["x-mapped"] == "me"
    assert json.loads(saw["body"]) == {"wrapped": {"k": "v"}}

    slow = requests.get(api.url("/slow"), timeout=30)
    assert slow.status_code == 504 and slow.json() == {"message": "Endpoint request timed out"}


# --------------------------------------------------------------------------- the Destined Lambda's front half


def test_api_gateway_to_sns_to_a_lambda_whose_destinations_reach_eventbridge_rules_and_queues(endpoint: str) -> None:
    sns = plugin_client(endpoint, "sns")
    events = plugin_client(endpoint, "events")
    lam = plugin_client(endpoint, "lambda")
    topic = sns.create_topic(Name="destined-requests")["TopicArn"]
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:destined"
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)
    bus = events.create_event_bus(Name="destined")["EventBusArn"]
    queues = {}
    for kind in ("Success", "Failure"):
        url, arn = queue(endpoint, f"destined-{kind.lower()}")
        queues[kind] = url
        rule = f"destined-{kind.lower()}"
        events.put_rule(Name=rule, EventBusName="destined", EventPattern=json.dumps(
            {"source": ["lambda"], "detail-type": [f"Lambda Function Invocation Result - {kind}"]}))
        events.put_targets(Rule=rule, EventBusName="destined", Targets=[{"Id": "q", "Arn": arn}])
    lam.put_function_event_invoke_config(FunctionName="destined", MaximumRetryAttempts=0, DestinationConfig={
        "OnSuccess": {"Destination": bus}, "OnFailure": {"Destination": bus}})

    api = Api(endpoint, "destined")
    api.method("/requests", "POST", type="AWS", integrationHttpMethod="POST",
               uri=f"arn:aws:apigateway:{REGION}:sns:path//", requestParameters=FORM,
               requestTemplates={"application/json": (
                   f"Action=Publish&TopicArn=$util.urlEncode('{topic}')"
                   "&Message=$util.urlEncode($input.body)"
                   "&MessageAttributes.entry.1.Name=requestId"
                   "&MessageAttributes.entry.1.Value.DataType=String"
                   "&MessageAttributes.entry.1.Value.StringValue=$context.requestId")},
               responses={"200": {"responseTemplates": {"application/json": (
                   '{"published": "$input.path(\'$.PublishResponse.PublishResult.MessageId\')"}')}}})
    api.deploy()

    for body in ({"ok": True, "tag": "first"}, {"ok": False, "tag": "second"}):
        reply = requests.post(api.url("/requests"), json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.json()["published"]

    [success] = receive(endpoint, queues["Success"])
    [failure] = receive(endpoint, queues["Failure"])
    succeeded = json.loads(success["Body"])
    assert succeeded["detail-type"] == "Lambda Function Invocation Result - Success"
    assert succeeded["detail"]["responsePayload"] == {"accepted": "first"}
    assert succeeded["detail"]["requestContext"]["functionArn"].startswith(function)
    assert json.loads(succeeded["detail"]["requestPayload"]["Records"][0]["Sns"]["Message"]) == {
        "ok": True, "tag": "first"}
    failed = json.loads(failure["Body"])
    assert failed["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert failed["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["detail"]["responsePayload"]["errorMessage"] == "refused second"
    # drained: nothing more is on its way (no retries, no second record)
    quiet(endpoint)
    for url in queues.values():
        assert not plugin_client(endpoint, "sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")
