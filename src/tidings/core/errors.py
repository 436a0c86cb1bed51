class ServiceError(Exception):
    """A refused write: a translated message, optionally tied to one input field.

    The API answers it as 422 with field details; console forms show it inline. Nothing was changed.
    """

    def __init__(self, message, *, field: str | None = None, code: str = "invalid"):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.code = code


class NotFound(ServiceError):
    def __init__(self, message="Not found", *, field=None):
        super().__init__(message, field=field, code="not_found")
