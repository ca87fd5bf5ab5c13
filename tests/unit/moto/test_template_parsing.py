"""CloudFormation reads a JSON template as JSON (moto read every template as YAML)."""

from __future__ import annotations

import json

from emulator.moto import services


def test_json_templates_are_json_and_yaml_ones_keep_their_short_tags():
    services.prepare("cloudformation")
    from moto.cloudformation.models import Stack

    body = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 1e1, "Name": "a/b"}}}}
    assert Stack.parse_template(json.dumps(body)) == body  # 1e1 is 10.0 in JSON (a string to YAML 1.1)
    assert Stack.parse_template("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {N: !Ref P}}\n") == {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"N": {"Ref": "P"}}}}}
    assert Stack.parse_template('{"Resources": {}, }') == {"Resources": {}}  # not JSON: YAML's flow mapping
