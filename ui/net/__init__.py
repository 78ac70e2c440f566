"""The player's side of the HTTP API: an async client on trio (httpx) and the credential store."""
