"""Authentication and device trust: accounts, devices, PINs, hashed rotating tokens, RBAC,
Redis rate limits and session cache. The HTTP routes are in ``routes`` and ``users``."""
