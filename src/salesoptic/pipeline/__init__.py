"""The medallion pipeline: bronze, silver, gold, and the run records."""
