"""ScalewayNetwork: a VPC and private network whose nodes reach the internet without public IPs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumiverse_scaleway import network

from .naming import child


@dataclass(frozen=True)
class NetworkArgs:
    display_name: str  # the name shown in the Scaleway console
    zone: str
    region: str
    subnet: str
    tags: list[str]


class ScalewayNetwork(pulumi.ComponentResource):
    """VPC, private network on the spec's subnet, and a public gateway doing NAT (masquerade).

    The gateway pushes the default route over IPAM, so pools with
    `public_ip_disabled` still pull images and reach Scaleway's APIs.
    """

    private_network: network.PrivateNetwork
    gateway_network: network.GatewayNetwork

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aion:scaleway:Network", name, None, opts)
        parented = pulumi.ResourceOptions(parent=self)
        vpc = network.Vpc(child(name, "vpc"), name=args.display_name, region=args.region, tags=args.tags, opts=parented)
        self.private_network = network.PrivateNetwork(
            child(name, "pn"),
            name=args.display_name,
            vpc_id=vpc.id,
            region=args.region,
            ipv4_subnet={"subnet": args.subnet},
            tags=args.tags,
            opts=parented,
        )
        gateway = network.PublicGateway(
            child(name, "gateway"),
            name=args.display_name,
            type="VPC-GW-S",
            zone=args.zone,
            tags=args.tags,
            opts=parented,
        )
        self.gateway_network = network.GatewayNetwork(
            child(name, "gateway-pn"),
            gateway_id=gateway.id,
            private_network_id=self.private_network.id,
            enable_masquerade=True,
            ipam_configs=[{"push_default_route": True}],
            zone=args.zone,
            opts=parented,
        )
        self.register_outputs({"private_network_id": self.private_network.id, "gateway_id": gateway.id})
