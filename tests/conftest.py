from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--update-fixes",
        action="store_true",
        default=False,
        help="rewrite the fixed-fixture snapshots under tests/fixtures/*/fixed/ from the current fixes",
    )


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _cache_outside_the_checkout(tmp_path_factory, monkeypatch):
    """CLI runs in tests keep their cache in a temporary directory, never in
    the fixtures or examples they check; tests of the cache set their own."""
    monkeypatch.setenv("POOLLINT_CACHE_DIR", str(tmp_path_factory.mktemp("poollint-cache")))


# Hypothesis profiles for tests/robustness/test_fuzz.py. `fast` keeps the
# normal run quick and the same on every run; POOLLINT_FUZZ=deep explores.
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the test extras are not installed; the fuzz tests skip themselves
    _hypothesis_settings = None

FUZZ_PROFILES = ("fast", "deep")

if _hypothesis_settings is not None:
    # No deadline in either: a libcst parse takes what it takes on a busy 2-core CI machine.
    _hypothesis_settings.register_profile("fast", max_examples=15, deadline=None, derandomize=True, print_blob=True)
    _hypothesis_settings.register_profile("deep", max_examples=2000, deadline=None, print_blob=True)


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    if _hypothesis_settings is None or config.getoption("hypothesis_profile", None):
        return  # hypothesis's own --hypothesis-profile wins
    import os

    profile = os.environ.get("POOLLINT_FUZZ", "fast")
    if profile not in FUZZ_PROFILES:
        raise pytest.UsageError(f"POOLLINT_FUZZ must be one of {', '.join(FUZZ_PROFILES)}, not {profile!r}")
    _hypothesis_settings.load_profile(profile)
