"""Colour spaces and the networks: one module per architecture, their heads, losses and decode."""
