# syntax=docker/dockerfile:1
# The SalesOptic image: the `salesoptic` command, a Java 17 runtime and the PostgreSQL
# JDBC driver. The same image runs Spark's standalone master and workers with
# `spark-class` from the installed pyspark, which ships a whole Spark (see
# docs/containers.md).
FROM python:3.11-slim-bookworm

# Java 17 for Spark; the JDBC driver at /usr/share/java/postgresql.jar.
# (/usr/share/man/man1 must exist for the JRE's post-install on slim images.)
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless \
        libpostgresql-jdbc-java \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /opt/java \
    && /opt/java/bin/java -version

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /build
# Dependencies first (pyspark is large): this layer is rebuilt only when
# pyproject.toml changes, not on every source edit.
COPY pyproject.toml README.md ./
RUN mkdir -p src/salesoptic \
    && touch src/salesoptic/__init__.py \
    && pip install . \
    && pip uninstall -y salesoptic \
    && rm -rf src build
# Then the package itself.
COPY src ./src
RUN pip install --no-deps . \
    && rm -rf /build \
    && ln -s "$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')" \
        /opt/spark \
    && test -x /opt/spark/bin/spark-class

# SPARK_HOME is the installed pyspark package; JAVA_HOME the system Java 17 (whatever
# the architecture); the data directory is the shared volume mounted at /data. No driver
# class archive: each container starts with an empty cache, so its first session would
# pay for writing one that no later session maps (docs/runtime.md).
ENV JAVA_HOME=/opt/java \
    SPARK_HOME=/opt/spark \
    PATH=/opt/spark/bin:$PATH \
    SALESOPTIC_DATA_DIR=/data \
    SALESOPTIC_JDBC_JAR=/usr/share/java/postgresql.jar \
    SALESOPTIC_CLASS_ARCHIVE=false

# An unprivileged user; /data belongs to it so that a new named volume mounted there
# does too (Docker copies the ownership of the image's folder into an empty volume).
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin salesoptic \
    && mkdir -p /data \
    && chown salesoptic:salesoptic /data
USER salesoptic
WORKDIR /home/salesoptic

# 8501 dashboard, 7077 Spark master, 8080 master web UI, 8081 worker web UI.
EXPOSE 8501 7077 8080 8081
CMD ["salesoptic", "--help"]
