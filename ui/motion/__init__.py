"""Animations as pure functions of time and state (no Qt, no GL), so they are tested without a GPU.

Every animation advances by ``dt`` taken from real frame timestamps; the integrators are either
exact (closed forms) or run in fixed sub-steps, so 60, 120 and 144 Hz displays trace the same curve.
"""
