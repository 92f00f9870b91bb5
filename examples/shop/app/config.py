"""Settings of the shop, read from the environment."""

import os

# The fallback carries the analytics password: it is in every clone of the
# repository, and it is what production connects with the day the variable
# is not set.
ANALYTICS_URL = os.environ.get(
    "ANALYTICS_URL", "postgresql+psycopg://analyst:summer-sale-24@analytics.internal/shop"
)


# Look-alikes that are fine and must stay clean.

# No password in the code: the environment (or ~/.pgpass) provides it.
ARCHIVE_URL = os.environ.get("ARCHIVE_URL", "postgresql+psycopg://archivist@archive.internal/shop")
SEARCH_URL = (
    f"postgresql+psycopg://search:{os.environ.get('SEARCH_PASSWORD', '')}@search.internal/shop"
)
