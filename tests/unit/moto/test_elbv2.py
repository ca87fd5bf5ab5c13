"""moto's Elastic Load Balancing v2 with Cloudmicro's patch: a load balancer's DNSName is the
local name the front door serves, and undoing the patch gives moto's own back."""

from __future__ import annotations

import boto3
from moto import mock_aws

from emulator.moto.elbv2 import PATCHES


def _dns_name(name: str) -> str:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    elb = boto3.client("elbv2", region_name="us-east-1")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"][:2]]
    created = elb.create_load_balancer(Name=name, Type="application", Subnets=subnets)["LoadBalancers"][0]
    described = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    assert described["DNSName"] == created["DNSName"]
    return str(created["DNSName"])


def test_a_load_balancers_dns_name_is_local() -> None:
    was_applied = PATCHES.applied
    PATCHES.apply()
    try:
        with mock_aws():
            assert _dns_name("My-Shop") == "my-shop.elb.localhost"
    finally:
        if not was_applied:
            PATCHES.undo()
    if not was_applied:
        with mock_aws():
            assert _dns_name("shop").endswith(".elb.amazonaws.com")
