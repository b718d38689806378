"""Names both ends of an inference connection agree on: the gRPC service, and how an accelerator
declares the region and site it serves (ServerMetadata extensions, stream initial metadata)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inference_protocol.generated import grpc_predict_v2_pb2 as pb

INFERENCE_SERVICE: str = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
"""`inference.GRPCInferenceService`, as health checks and reflection name it."""
REGION_METADATA = "edge-region"
"""Initial metadata of every ModelStreamInfer stream: the region the accelerator serves."""
SITE_METADATA = "edge-site-id"
"""Initial metadata of every ModelStreamInfer stream: the site the accelerator belongs to."""


@dataclass(frozen=True)
class SiteIdentity:
    """The region and site a server declares, e.g. `SiteIdentity("kr-seoul", "SEL-GN-0042")`.

    They travel as ServerMetadata extensions `region=<region>` and `site_id=<site>` so that any
    Open Inference Protocol client can verify the server is inside its region.
    """

    region: str
    site_id: str

    def extensions(self) -> list[str]:
        return [f"region={self.region}", f"site_id={self.site_id}"]

    def stream_metadata(self) -> tuple[tuple[str, str], ...]:
        """The initial metadata of every ModelStreamInfer stream (`edge-region`, `edge-site-id`):
        a client can verify the region on the very connection it sends over, before sending."""
        return ((REGION_METADATA, self.region), (SITE_METADATA, self.site_id))


def declared_identity(extensions: Iterable[str]) -> dict[str, str]:
    """Read `key=value` entries (region, site_id) back out of a ServerMetadata extension list."""
    return dict(e.split("=", 1) for e in extensions if "=" in e)
