"""boto3's region lists answered from one Session (moto's imports ask with a new one each time)."""

from __future__ import annotations

from boto3 import Session

from emulator.moto import boto_data


def test_the_cached_lists_are_boto3s_own_and_come_from_one_session():
    wanted = {(service, partition): Session().get_available_regions(service, partition_name=partition)
              for service in ("ec2", "config") for partition in ("aws", "aws-us-gov", "aws-cn")}
    applied = boto_data.PATCHES.apply()
    try:
        assert applied
        for (service, partition), listed in wanted.items():
            assert Session().get_available_regions(service, partition_name=partition) == listed
        for _ in range(10):
            assert "us-east-1" in Session().get_available_regions("ec2")
        assert len(boto_data._shared) == 1  # every answer came from the one Session
    finally:
        boto_data.PATCHES.undo()
