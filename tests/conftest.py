"""Suite-wide settings: deterministic hypothesis runs without wall-clock deadlines (CI has 2 busy cores)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "poolscope",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("poolscope")
