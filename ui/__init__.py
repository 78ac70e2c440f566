"""The Ferrex desktop player (PyQt6). It talks to the appliance only through ``sync`` and HTTP."""
