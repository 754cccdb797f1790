class DomainError(Exception):
    """A change the domain refuses, with a message written for the person who asked.

    `field` names the input at fault where there is one (admin forms show it beside that field,
    APIs in their error body); `code` is a stable machine-readable reason.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="not_found")


class Conflict(DomainError):
    """The change collides with existing state (a taken email, a domain of another company)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="conflict")
