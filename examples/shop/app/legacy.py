"""The review archive of the old shop, still in its own PostgreSQL database
and read with psycopg2 directly."""


def fetch_archived_reviews(customer_id: int) -> list:
    # Only the deployments that still serve the archive install psycopg2.
    import psycopg2

    conn = psycopg2.connect("host=legacy.internal dbname=reviews user=shop")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT body FROM reviews WHERE customer_id = %s", (customer_id,))
            return cur.fetchall()
    finally:
        conn.close()
