from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--update-fixes",
        action="store_true",
        default=False,
        help="rewrite the fixed-fixture snapshots under tests/fixtures/*/fixed/ from the current fixes",
    )
