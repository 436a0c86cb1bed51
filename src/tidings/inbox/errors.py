from tidings.core.errors import ServiceError


class FollowedByAnother(ServiceError):
    """Following needs a takeover: someone else follows the conversation (the API answers 409)."""

    def __init__(self, message, *, conversation, follower):
        super().__init__(message, field="takeover", code="conflict")
        self.conversation = conversation
        self.follower = follower
