"""One botocore data Loader per process (emulator.aws.botocore_data): Sessions made after
share_loader() read botocore's data once, boto3's data folder is listed once, and the clients
they make work as before. In a process of its own: the change is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_sessions_share_one_loader_and_their_clients_still_work():
    code = textwrap.dedent("""
        import boto3, botocore.session
        from emulator.aws.botocore_data import share_loader
        before = boto3.Session()._session.get_component("data_loader")
        share_loader(); share_loader()
        sessions = [boto3.Session() for _ in range(3)] + [boto3.session.Session()]
        loaders = {id(s._session.get_component("data_loader")) for s in sessions}
        loaders.add(id(botocore.session.get_session().get_component("data_loader")))
        loader = sessions[0]._session.get_component("data_loader")
        paths = loader.search_paths
        client = sessions[1].client("lambda", region_name="eu-west-1", aws_access_key_id="x",
                                    aws_secret_access_key="x")
        model = client.meta.service_model.operation_model("CreateFunction").input_shape.members
        resource = sessions[2].resource("s3", region_name="us-east-1", aws_access_key_id="x",
                                        aws_secret_access_key="x")  # boto3's own data folder
        print(len(loaders), loader is not before, len(paths) == len(set(paths)),
              "FunctionName" in model, resource.meta.service_name,
              sorted(sessions[3].get_available_regions("sqs"))[:1])
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 True True True s3 ['af-south-1']"
