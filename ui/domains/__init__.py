"""The player's ten domains and the registry that routes messages between them (see core)."""
