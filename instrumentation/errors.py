"""The error raised when code records something its module's contract does not declare."""


class ContractViolation(ValueError):
    """A metric or label that the module's contract does not declare, or a missing declared label."""
