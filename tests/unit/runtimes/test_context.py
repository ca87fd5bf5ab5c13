"""cloudmicro_runtime.context: the handler's context, as awslambdaric's."""

from __future__ import annotations

import io
import sys
import time

import pytest

from runtimes.python.cloudmicro_runtime.context import ClientContext, CognitoIdentity, LambdaContext

FUNCTION_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "my-fn",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/my-fn",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]0123456789abcdef",
}
ARN = "arn:aws:lambda:us-east-1:000000000000:function:my-fn"


@pytest.fixture(autouse=True)
def _function_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)


def test_attributes_come_from_the_environment_and_the_invocation() -> None:
    context = LambdaContext("req-1", None, None, int(time.time() * 1000) + 60_000, ARN, "tenant-1")
    assert (context.aws_request_id, context.function_name, context.function_version, context.memory_limit_in_mb,
            context.log_group_name, context.log_stream_name, context.invoked_function_arn, context.tenant_id) == (
        "req-1", "my-fn", "$LATEST", "256", "/aws/lambda/my-fn", "2026/11/23/[$LATEST]0123456789abcdef", ARN,
        "tenant-1",
    )
    assert context.client_context is None
    assert isinstance(context.identity, CognitoIdentity)
    assert (context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id) == (None, None)
    assert context.w3c() == {}


def test_remaining_time_counts_down_and_never_goes_negative() -> None:
    now_ms = int(time.time() * 1000)
    assert 9_000 < LambdaContext("r", None, None, now_ms + 10_000).get_remaining_time_in_millis() <= 10_000
    assert LambdaContext("r", None, None, now_ms - 5_000).get_remaining_time_in_millis() == 0


def test_client_context_and_identity_become_objects() -> None:
    client_context = {
        "client": {"installation_id": "inst-1", "app_title": "App", "app_package_name": "com.example"},
        "custom": {"tenant": "acme"},
        "env": {"platform": "Android"},
        "w3c": {"traceparent": "00-abc-def-01", "tracestate": 5, "baggage": "k=v", "other": "x"},
    }
    identity = {"cognitoIdentityId": "us-east-1:id-1", "cognitoIdentityPoolId": "us-east-1:pool-1"}
    context = LambdaContext("r", client_context, identity, 0)
    assert isinstance(context.client_context, ClientContext)
    assert (context.client_context.custom, context.client_context.env) == ({"tenant": "acme"}, {"platform": "Android"})
    client = context.client_context.client
    assert (client.installation_id, client.app_title, client.app_version_name, client.app_version_code,
            client.app_package_name) == ("inst-1", "App", None, None, "com.example")
    assert context.w3c() == {"traceparent": "00-abc-def-01", "baggage": "k=v"}  # allowlisted strings only
    assert "w3c" not in client_context  # stripped from the client context, as awslambdaric
    assert (context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id) == (
        "us-east-1:id-1", "us-east-1:pool-1",
    )
    assert repr(context.identity) == (
        "CognitoIdentity([cognito_identity_id=us-east-1:id-1,cognito_identity_pool_id=us-east-1:pool-1])"
    )
    assert repr(context.client_context) == (
        "ClientContext([custom={'tenant': 'acme'},env={'platform': 'Android'},client=Client([installation_id=inst-1,"
        "app_title=App,app_version_name=None,app_version_code=None,app_package_name=com.example])])"
    )


def test_a_w3c_field_that_is_not_an_object_is_dropped() -> None:
    client_context = {"w3c": "traceparent", "custom": None}
    context = LambdaContext("r", client_context, None, 0)
    assert context.w3c() == {} and client_context == {"custom": None}


def test_repr_and_log(monkeypatch: pytest.MonkeyPatch) -> None:
    context = LambdaContext("req-1", None, None, 0, ARN)
    assert repr(context) == (
        "LambdaContext([aws_request_id=req-1,log_group_name=/aws/lambda/my-fn,"
        "log_stream_name=2026/11/23/[$LATEST]0123456789abcdef,function_name=my-fn,memory_limit_in_mb=256,"
        f"function_version=$LATEST,invoked_function_arn={ARN},client_context=None,"
        "identity=CognitoIdentity([cognito_identity_id=None,cognito_identity_pool_id=None]),tenant_id=None])"
    )
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    context.log("raw line\n")
    context.log(42)
    assert out.getvalue() == "raw line\n42"
