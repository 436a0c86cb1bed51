"""One router per domain; `tidings.api.api` mounts them. A new app adds `routers/<app>.py` and one line there."""
