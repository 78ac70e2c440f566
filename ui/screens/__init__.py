"""The player's screens (QWidgets). They show what domain events say and post messages for
what the user does; they hold no state a domain does not also own."""
