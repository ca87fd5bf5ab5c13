"""Function URL configurations: the store (API-made and function.json-declared URLs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from emulator.domain.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from emulator.domain.function_urls import FunctionUrlConfig, FunctionUrls, declared_url_id
from emulator.domain.functions import FunctionConfig
from emulator.domain.registry import FunctionRegistry

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def function(name: str, url: dict | None = None) -> FunctionConfig:
    return FunctionConfig(name=name, arn=ARN + name, code_dir=Path("/nowhere"), handler="app.handler",
                          function_url=url)


def store(tmp_path) -> FunctionUrls:
    return FunctionUrls(tmp_path / "state" / "function-urls.json")


def test_create_get_update_delete(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("fn")])
    created = urls.create(function("fn"), {"AuthType": "NONE"})
    assert re.fullmatch(r"[a-z0-9]{32}", created.url_id)
    assert (created.function_name, created.function_arn, created.qualifier) == ("fn", ARN + "fn", None)
    assert (created.auth_type, created.invoke_mode, created.cors) == ("NONE", "BUFFERED", None)
    assert ISO.fullmatch(created.creation_time) and created.last_modified_time == created.creation_time
    assert urls.get("fn") == created

    cors = {"AllowOrigins": ["*"], "AllowMethods": ["GET", "POST"], "MaxAge": 60, "Unknown": 1}
    updated = urls.update("fn", {"Cors": cors, "InvokeMode": "RESPONSE_STREAM"})
    assert updated.cors == {"AllowOrigins": ["*"], "AllowMethods": ["GET", "POST"], "MaxAge": 60}
    assert (updated.auth_type, updated.invoke_mode, updated.url_id) == ("NONE", "RESPONSE_STREAM", created.url_id)
    assert updated.creation_time == created.creation_time
    assert updated.last_modified_time >= created.last_modified_time
    assert urls.update("fn", {"AuthType": "AWS_IAM"}).cors == updated.cors  # only what is given changes

    urls.delete("fn")
    with pytest.raises(ResourceNotFoundException, match=r"^The resource you requested does not exist\.$"):
        urls.get("fn")
    with pytest.raises(ResourceNotFoundException):
        urls.delete("fn")
    with pytest.raises(ResourceNotFoundException):
        urls.update("fn", {"AuthType": "NONE"})
    assert urls.by_url_id(created.url_id) is None


def test_the_aws_shapes_and_the_local_url(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("fn")])
    config = urls.create(function("fn"), {"AuthType": "AWS_IAM", "Cors": {"AllowCredentials": True}})
    url = f"http://{config.url_id}.lambda-url.eu-west-1.localhost:4566/"
    assert config.function_url(4566, "eu-west-1") == url
    assert config.function_url("http://127.0.0.1:4566", "eu-west-1") == url
    assert config.to_aws(4566, "eu-west-1", created=True) == {
        "FunctionUrl": url, "FunctionArn": ARN + "fn", "AuthType": "AWS_IAM", "InvokeMode": "BUFFERED",
        "Cors": {"AllowCredentials": True}, "CreationTime": config.creation_time}
    assert config.to_aws(4566, "eu-west-1")["LastModifiedTime"] == config.last_modified_time


def test_a_second_url_is_a_conflict(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("fn")])
    urls.create(function("fn"), {"AuthType": "NONE"})
    with pytest.raises(ResourceConflictException) as conflict:
        urls.create(function("fn"), {"AuthType": "AWS_IAM"})
    assert conflict.value.message == (
        f"Failed to create function url config for [functionArn = {ARN}fn]. Error message:  "
        "FunctionUrlConfig exists for this Lambda function")


@pytest.mark.parametrize(("request_", "message"), [
    ({}, "1 validation error detected: Value null at 'authType' failed to satisfy constraint: "
         "Member must not be null"),
    ({"AuthType": "PUBLIC"}, "1 validation error detected: Value 'PUBLIC' at 'authType' failed to satisfy "
                             "constraint: Member must satisfy enum value set: [AWS_IAM, NONE]"),
    ({"AuthType": "NONE", "InvokeMode": "STREAM"},
     "1 validation error detected: Value 'STREAM' at 'invokeMode' failed to satisfy constraint: "
     "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"),
    ({"AuthType": "NONE", "Cors": {"MaxAge": 86401}},
     "1 validation error detected: Value '86401' at 'cors.maxAge' failed to satisfy constraint: "
     "Member must have value less than or equal to 86400"),
    ({"AuthType": "NONE", "Cors": {"AllowCredentials": "yes", "AllowMethods": ["GET"] * 7}},
     "2 validation errors detected: Value 'yes' at 'cors.allowCredentials' failed to satisfy constraint: "
     "Member must be a boolean; Value '['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET']' at "
     "'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6"),
])
def test_invalid_settings_are_refused_as_aws_does(tmp_path, request_, message):
    urls = store(tmp_path)
    urls.sync([function("fn")])
    with pytest.raises(ValidationException) as invalid:
        urls.create(function("fn"), request_)
    assert invalid.value.message == message
    with pytest.raises(ResourceNotFoundException):
        urls.get("fn")


def test_update_checks_what_it_is_given(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("fn")])
    urls.create(function("fn"), {"AuthType": "NONE"})
    with pytest.raises(ValidationException, match="at 'authType'"):
        urls.update("fn", {"AuthType": "nope"})
    assert urls.get("fn").auth_type == "NONE"


def test_list_pages_by_marker(tmp_path):
    urls = store(tmp_path)
    names = ["a", "b", "c"]
    urls.sync([function(n) for n in names])
    for name in names:
        urls.create(function(name), {"AuthType": "NONE"})
    page, marker = urls.list("b")
    assert [c.function_name for c in page] == ["b"] and marker is None
    assert urls.list("nothing") == ([], None)
    assert urls.list("a", max_items=1)[1] is None


def test_list_paging_with_more_than_one_url(tmp_path):
    """Two URLs of one function (one qualified, as an alias would have) page one by one."""
    urls = store(tmp_path)
    urls.sync([function("fn")])
    first = urls.create(function("fn"), {"AuthType": "NONE"})
    second = urls.create(function("fn"), {"AuthType": "NONE"}, qualifier="live")
    assert second.function_arn == ARN + "fn:live"
    page, marker = urls.list("fn", max_items=1)
    assert page == [first] and marker == first.function_arn
    page, marker = urls.list("fn", marker=marker, max_items=1)
    assert page == [second] and marker is None
    assert urls.list("fn")[0] == [first, second]


def test_by_url_id(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("fn"), function("other")])
    config = urls.create(function("fn"), {"AuthType": "NONE"})
    assert urls.by_url_id(config.url_id) == config
    updated = urls.update("fn", {"AuthType": "AWS_IAM"})
    assert urls.by_url_id(config.url_id) == updated
    assert urls.by_url_id("x" * 32) is None


def test_persisted_across_a_new_store_on_the_same_file(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("fn")])
    config = urls.create(function("fn"), {"AuthType": "NONE", "Cors": {"AllowOrigins": ["http://localhost:3000"]}})
    again = store(tmp_path)
    again.sync([function("fn")])
    assert again.get("fn") == config
    assert again.by_url_id(config.url_id) == config
    assert json.loads((tmp_path / "state" / "function-urls.json").read_text())["Version"] == 1


def test_a_broken_file_is_ignored(tmp_path):
    path = tmp_path / "state" / "function-urls.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    urls = FunctionUrls(path)
    urls.sync([function("fn")])
    assert urls.list("fn") == ([], None)


def test_forget_clear_and_functions_that_are_gone(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("a"), function("b"), function("c")])
    a = urls.create(function("a"), {"AuthType": "NONE"})
    b = urls.create(function("b"), {"AuthType": "NONE"})
    c = urls.create(function("c"), {"AuthType": "NONE"})
    urls.forget("a")
    assert urls.by_url_id(a.url_id) is None
    with pytest.raises(ResourceNotFoundException):
        urls.get("a")
    urls.sync([function("c")])  # b was deleted (or not recreated after a restart)
    assert urls.by_url_id(b.url_id) is None and urls.get("c") == c
    urls.clear()
    assert urls.by_url_id(c.url_id) is None
    assert store(tmp_path).by_url_id(c.url_id) is None


def test_declared_urls_are_there_with_a_stable_id(tmp_path):
    urls = store(tmp_path)
    declared = function("site", {"AuthType": "NONE", "Cors": {"AllowOrigins": ["*"]}})
    urls.sync([declared, function("plain")])
    config = urls.get("site")
    assert config.declared and config.url_id == declared_url_id(ARN + "site")
    assert re.fullmatch(r"[a-z0-9]{32}", config.url_id)
    assert (config.auth_type, config.invoke_mode, config.cors) == ("NONE", "BUFFERED", {"AllowOrigins": ["*"]})
    assert urls.by_url_id(config.url_id) == config
    assert [c.function_name for c in urls.list("site")[0]] == ["site"]
    with pytest.raises(ResourceConflictException):
        urls.create(declared, {"AuthType": "NONE"})

    restarted = store(tmp_path)  # a restart: same id, same CreationTime
    restarted.sync([declared, function("plain")])
    assert restarted.get("site") == config
    other_region = declared_url_id("arn:aws:lambda:eu-west-1:123456789012:function:site")
    assert other_region != config.url_id and declared_url_id(ARN + "plain") != config.url_id


def test_declared_urls_follow_their_declaration(tmp_path):
    urls = store(tmp_path)
    urls.sync([function("site", {"AuthType": "NONE"})])
    first = urls.get("site")
    urls.sync([function("site", {"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"})])  # a hot reload
    changed = urls.get("site")
    assert (changed.auth_type, changed.invoke_mode, changed.url_id) == ("AWS_IAM", "RESPONSE_STREAM", first.url_id)
    urls.sync([function("site")])  # "FunctionUrl" removed from function.json
    with pytest.raises(ResourceNotFoundException):
        urls.get("site")
    assert urls.by_url_id(first.url_id) is None


def test_the_api_changes_a_declared_url_until_the_declaration_changes(tmp_path):
    urls = store(tmp_path)
    site = function("site", {"AuthType": "NONE"})
    urls.sync([site])
    declared = urls.get("site")
    updated = urls.update("site", {"AuthType": "AWS_IAM"})
    assert (updated.url_id, updated.auth_type, updated.declared) == (declared.url_id, "AWS_IAM", False)
    urls.sync([site])  # an unrelated reload: the API's change holds
    assert urls.get("site") == updated
    urls.delete("site")
    urls.sync([site])
    with pytest.raises(ResourceNotFoundException):
        urls.get("site")
    restarted = store(tmp_path)
    restarted.sync([site])
    with pytest.raises(ResourceNotFoundException):  # deleted stays deleted across a restart
        restarted.get("site")
    restarted.sync([function("site", {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"})])  # function.json edited
    assert restarted.get("site").invoke_mode == "RESPONSE_STREAM"


def test_function_json_declares_a_url(tmp_path):
    folder = tmp_path / "functions" / "site"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text("def handler(e, c): pass\n")
    (folder / "function.json").write_text(json.dumps({"Handler": "app.handler", "FunctionUrl": {"AuthType": "NONE"}}))
    registry = FunctionRegistry(tmp_path / "functions", tmp_path / "state", "us-east-1", "123456789012")
    registry.load_folders()
    assert registry.get("site").function_url == {"AuthType": "NONE"}

    (folder / "function.json").write_text(json.dumps({"Handler": "app.handler", "FunctionUrl": {"AuthType": "OPEN"}}))
    with pytest.raises(InvalidParameterValueException, match=r"function\.json: FunctionUrl: 1 validation error "
                                                             r"detected: Value 'OPEN' at 'authType'"):
        registry.load_folder(folder)
    (folder / "function.json").write_text(json.dumps({"Handler": "app.handler", "FunctionUrl": {"Auth": "NONE"}}))
    with pytest.raises(InvalidParameterValueException, match="unknown field"):
        registry.load_folder(folder)


def test_config_round_trips_through_json():
    config = FunctionUrlConfig("fn", ARN + "fn", None, "a" * 32, "NONE", {"MaxAge": 5}, "BUFFERED", "t1", "t2")
    assert FunctionUrlConfig.from_json(config.to_json()) == config
