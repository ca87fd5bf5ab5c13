"""The mapping-template engine (airspeed with API Gateway's variables), its JSONPath subset and
the integration mappings, on their own."""

from __future__ import annotations

import json

import pytest

from emulator.frontdoor import jsonpath, mapping, vtl

PARAMS = {"path": {"id": "7"}, "querystring": {"q": "v"}, "header": {"X-H": "hv"}}


def render(template: str, body: str = "", context: dict | None = None) -> str:
    return vtl.render(template, body=body, params=PARAMS, context=vtl.to_java(context or {}),
                      stage_variables={"color": "blue"})


def test_input_variables() -> None:
    body = json.dumps({"a": {"b": [1, 2, 3], "c": None}, "t": True, "s": "x"})
    assert render("$input.json('$.a.b[1]') $input.json('$[\"a\"].b') $input.path('$.a.b').size()", body) == \
        "2 [1,2,3] 3"
    assert render("$input.path('$.a') $input.path('$.t')", body) == "{b=[1, 2, 3], c=null} true"
    assert render("$input.params()") == "{path={id=7}, querystring={q=v}, header={X-H=hv}}"
    assert render("$input.params('id')-$input.params('q')-$input.params('x-h')-[$input.params('none')]") == \
        "7-v-hv-[]"
    assert render("$input.body|$input.json('$')", "") == "|{}"
    assert render("#foreach($k in $input.path('$.a').keySet())$k#if($foreach.hasNext),#end#end", body) == "b,c"
    assert render("$stageVariables.color $context.nope") == "blue $context.nope"


def test_util_functions() -> None:
    assert render("$util.escapeJavaScript(\"it's \\\"é\\\"/\")") == "it\\'s \\\"\\u00E9\\\"\\/"
    assert render("$util.urlEncode('a b/c~*') $util.urlDecode('a+b%2F')") == "a+b%2Fc%7E* a b/"
    assert render("$util.base64Encode('hi') $util.base64Decode('aGk=')") == "aGk= hi"
    assert render("$util.parseJson('{\"z\": [1]}').z.size()") == "1"
    assert render("$input.params('q').toUpperCase() #set($l = [])#set($x = $l.add(1))$l.size()") == "V 1"


def test_overrides_stay_in_the_context() -> None:
    context = vtl.to_java({"responseOverride": {"header": {}}})
    vtl.render("#set($context.responseOverride.status = 418)#set($context.responseOverride.header.X = 'y')",
               body="", params=PARAMS, context=context, stage_variables={})
    assert vtl.plain(context) == {"responseOverride": {"header": {"X": "y"}, "status": 418}}


def test_failures_are_vtl_errors() -> None:
    with pytest.raises(vtl.BodyNotJson):
        render("$input.json('$')", "{nope")
    with pytest.raises(vtl.VtlError):
        render("$util.parseJson('{')")
    with pytest.raises(vtl.VtlError):
        render("$input.json('$..deep')", "{}")


def test_jsonpath_subset() -> None:
    document = {"a": [{"b": 1}, {"b": 2}], "c d": 3}
    assert jsonpath.evaluate(document, "$") == document
    assert jsonpath.evaluate(document, "$.a[-1].b") == 2
    assert jsonpath.evaluate(document, "$['c d']") == 3
    assert jsonpath.evaluate(document, "$.a[*].b") == [1, 2]
    assert jsonpath.evaluate(document, "$.x") is jsonpath.MISSING
    for unsupported in ("a.b", "$..b", "$.a[?(@.b)]", "$.a[0:1]"):
        with pytest.raises(jsonpath.JsonPathError):
            jsonpath.evaluate(document, unsupported)


@pytest.mark.parametrize(("behavior", "templates", "content_type", "expected"), [
    ("WHEN_NO_MATCH", {"application/json": "T"}, None, ("application/json", "T")),
    ("WHEN_NO_MATCH", {"application/json": "T"}, "application/xml", None),
    ("WHEN_NO_TEMPLATES", {"application/json": "T"}, "application/xml", "415"),
    ("WHEN_NO_TEMPLATES", {}, "application/xml", None),
    ("NEVER", {"application/json": "T"}, "Application/JSON; charset=utf-8", ("application/json", "T")),
    ("NEVER", {"application/json": "T"}, "text/plain", "415"),
])
def test_request_template_and_passthrough(behavior: str, templates: dict, content_type: str | None,
                                          expected: object) -> None:
    integration = {"passthroughBehavior": behavior, "requestTemplates": templates}
    if expected == "415":
        with pytest.raises(mapping.Unsupported):
            mapping.request_template(integration, content_type)
    else:
        assert mapping.request_template(integration, content_type) == expected


def test_selection_pattern_matches_the_whole_text_else_the_default() -> None:
    responses = {"200": {"statusCode": "200"}, "400": {"statusCode": "400", "selectionPattern": "Bad.*"},
                 "500": {"statusCode": "500", "selectionPattern": "5\\d\\d"}}
    assert mapping.choose_response(responses, "Bad input")["statusCode"] == "400"
    assert mapping.choose_response(responses, "Very Bad input")["statusCode"] == "200"
    assert mapping.choose_response(responses, "503")["statusCode"] == "500"
    assert mapping.choose_response(responses, None)["statusCode"] == "200"  # a Lambda success
    assert mapping.choose_response({"400": responses["400"]}, "nope") is None
