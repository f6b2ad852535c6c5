"""The embedded AWS's server process: moto's server, answering as AWS does where moto does not.

    python -m training_pipeline.aws.embedded_server -H 127.0.0.1 -p PORT   (embedded.py starts it)

One difference of moto 5.2 matters to this template, and is fixed here rather than worked around
in the code that runs against it:

- ECR ignores ``registryId``: a request always reaches the caller's own account's registry. On
  AWS, ``registryId`` names the registry, so a deploy job in dev (dev's credentials) reads the
  operations account's images, which that registry's repository policy lets dev read. Here a
  request with a ``registryId`` reaches that account's registry. As for every policy, moto
  does not enforce the repository policy; the tests evaluate it (iam_policy.py).
"""

from __future__ import annotations

import sys

from moto.ecr.models import ECRBackend, ecr_backends
from moto.ecr.responses import ECRResponse


def _registry_backend(self: ECRResponse) -> ECRBackend:
    registry = self._get_param("registryId") or self.current_account
    return ecr_backends[registry][self.region]


def patch() -> None:
    """Apply the fixes to moto's classes, in this process."""
    ECRResponse.ecr_backend = property(_registry_backend)  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> None:
    patch()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
