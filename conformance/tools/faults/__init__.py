"""The fault catalogue: named, realistic backend faults, each a small patch of torch.

`registry` is the mechanism (register, activate, undo); each other module holds the faults of one
behaviour area or op family and is imported here, so importing the package registers them all.
`plugin` exposes them to pytest (`--fault NAME`).
"""

from conformance.tools.faults import (  # noqa: F401  (imported to register their faults)
    arith,
    autograd,
    creation,
    data,
    devices,
    draws,
    families,
    inplace,
    nn,
    nograd,
    numpy_bridge,
    optim,
    shape,
    views,
    vision,
)
from conformance.tools.faults.registry import (
    ENV,
    MODULES_ENV,
    REGISTRY,
    Fault,
    UnknownFault,
    activate,
    catalogue,
    fault,
    parse,
)

__all__ = ["ENV", "MODULES_ENV", "REGISTRY", "Fault", "UnknownFault", "activate", "catalogue", "fault", "parse"]
