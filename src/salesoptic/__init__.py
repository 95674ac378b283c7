"""SalesOptic: a medallion Spark pipeline for retail sales analytics."""

__version__ = "0.1.0"
