"""The results-JSON contract: what a run writes and what every output reads.

Nothing here imports torch or pytest, so `conformance gate`, `merge` and `report` run on a machine
that only holds results files.  One module per document kind:

- `contract`: a run's results document (schema, statuses, load/validate, atomic write);
- `merge`: many runs as one results set, split by environment;
- `mutation`: the document `conformance mutate` writes.
"""

from conformance.results.contract import (
    ANY_DEVICE,
    FAILING,
    PASSING,
    SCHEMA,
    SCHEMA_VERSION,
    STATUSES,
    ResultsError,
    load,
    schema,
    validate,
    write,
    write_text,
)

__all__ = ["ANY_DEVICE", "FAILING", "PASSING", "SCHEMA", "SCHEMA_VERSION", "STATUSES", "ResultsError", "load",
           "schema", "validate", "write", "write_text"]
