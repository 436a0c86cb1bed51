"""A fixed-window request counter for public endpoints (binding dialogs, the tracking script's collect).

Counts live in the default cache (the database cache), shared by every web process, so a limit holds however many
processes serve the endpoint.
"""

from django.core.cache import cache


def rate_take(*, key: str, limit: int, window: int) -> bool:
    """Count one use of `key`; False when it was already used `limit` times in the current `window` seconds."""
    key = f"rate:{key}"
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return True
    return count <= limit
