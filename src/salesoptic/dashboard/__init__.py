"""The SalesOptic dashboard: a Streamlit app over gold, quarantine and the run log.

It reads storage with DuckDB only (``data.py``), never Spark. Entry points: ``app.py``
for ``streamlit run``, ``server.serve`` to run it as a subprocess, ``command`` for the CLI.
"""
