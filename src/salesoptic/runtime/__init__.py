"""Runtime: Spark sessions, Java and JDBC discovery, the embedded PostgreSQL server."""
