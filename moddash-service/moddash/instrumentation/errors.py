"""The error raised when code records something its module's contract does not declare, or a bad value."""

from __future__ import annotations

# The `kind` label values of `{module}_instrumentation_errors_total`: a fixed set, so the self-metric is bounded.
UNKNOWN_METRIC = "unknown_metric"
WRONG_TYPE = "wrong_type"
UNKNOWN_LABEL = "unknown_label"
MISSING_LABEL = "missing_label"
INVALID_VALUE = "invalid_value"
NEGATIVE_VALUE = "negative_value"
INTERNAL = "internal"
ERROR_KINDS = (UNKNOWN_METRIC, WRONG_TYPE, UNKNOWN_LABEL, MISSING_LABEL, INVALID_VALUE, NEGATIVE_VALUE, INTERNAL)


class ContractViolation(ValueError):
    """A metric or label that the module's contract does not declare, a missing declared label, or a bad value.

    `kind` is one of `ERROR_KINDS`: the `kind` label under which production mode counts the dropped record.
    """

    def __init__(self, message: str, kind: str = INTERNAL) -> None:
        super().__init__(message)
        self.kind = kind
