"""Contract checks for any implementation of the Northca Partner API, built on ``openapi.yaml``."""

__all__: list[str] = []
