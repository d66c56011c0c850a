from django.db import connection

# Queries the filter time limit adds to a span-list request on PostgreSQL: its set_config, and inside a
# test's transaction the savepoint around it and its release.
TIME_LIMIT_QUERIES = 3 if connection.vendor == "postgresql" else 0
