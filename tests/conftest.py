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
