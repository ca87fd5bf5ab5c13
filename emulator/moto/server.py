"""moto's server with Cloudmicro's patches (the compose stack's ``moto`` service).

    python -m emulator.moto.server -H 127.0.0.1 -p 4567

``CLOUDMICRO_ENDPOINT`` (default http://127.0.0.1:4566) is the control plane: where S3, SNS
and EventBridge deliver to functions, and where Step Functions tasks send their AWS calls.
"""

from __future__ import annotations

import os
import sys

from emulator.moto import boto_data, sqs_speed, werkzeug_rules
from emulator.moto import delivery as moto_delivery
from emulator.moto.services import apply_all, bucket_cors_only


def main(argv: list[str] | None = None) -> None:
    from moto import server

    sqs_speed.apply()
    boto_data.PATCHES.apply()
    werkzeug_rules.PATCHES.apply()
    moto_delivery.configure(os.environ.get("CLOUDMICRO_ENDPOINT", "http://127.0.0.1:4566"))
    apply_all()
    bucket_cors_only()
    server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
