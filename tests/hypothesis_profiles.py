"""Hypothesis profiles for the property and fuzz tests (registered from conftest.py).

``ci`` (the default) keeps the whole suite fast on two cores; ``long`` is for a local hunt:

    .venv/bin/pytest tests/test_properties.py tests/test_fuzz_register.py --hypothesis-profile=long --hypothesis-show-statistics

Tests that build a real workbook per example scale their own count down with ``examples(n)``, so that both profiles
keep the same proportions.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILES = {"ci": 150, "long": 3000}

for _name, _count in PROFILES.items():
    settings.register_profile(
        _name,
        max_examples=_count,
        deadline=None,  # no timing assertions: CI machines are slow and noisy
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,  # a failure prints the @reproduce_failure line
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))  # --hypothesis-profile=… overrides this


def examples(fraction_of_profile: float) -> settings:
    """Settings for a slow test: a fraction of the active profile's examples (at least 10)."""
    return settings(max_examples=max(10, int(settings.default.max_examples * fraction_of_profile)))
