"""What the appliance and the player share: the msgspec model (DTOs) and the wire protocol."""
