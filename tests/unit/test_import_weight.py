"""What a control plane loads before anyone asks for it: heavy libraries that only some features
use are imported on first use (joserfc and cryptography for JWT authorizers: ~10 MB; moto's API
Gateway models with their OpenAPI validators: tens of MB), so an idle control plane stays small."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_app_loads_no_jwt_library_and_no_api_gateway_models():
    code = ("import sys, emulator.app.factory, emulator.app.plane; "
            "print(sorted(m for m in ('joserfc', 'cryptography', 'moto.apigateway.models', 'moto.elbv2.models',"
            ") if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
