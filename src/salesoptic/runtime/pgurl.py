"""PostgreSQL URLs: parsing, masking, and the JDBC form (credentials kept apart)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from salesoptic.errors import UserError

_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class PgUrl:
    """The parts of a ``postgresql://user:password@host:port/database`` URL."""

    host: str
    port: int
    database: str
    user: str | None
    password: str | None

    @property
    def url(self) -> str:
        """The full URL, password included: for drivers only, never for output."""
        return self._format(self.password)

    @property
    def masked(self) -> str:
        """The URL with the password replaced by ``***``: safe to print or log."""
        return self._format("***" if self.password else None)

    @property
    def jdbc_url(self) -> str:
        """JDBC URL without credentials; they go in :attr:`jdbc_properties`."""
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    @property
    def jdbc_properties(self) -> dict[str, str]:
        props = {"driver": "org.postgresql.Driver"}
        if self.user:
            props["user"] = self.user
        if self.password:
            props["password"] = self.password
        return props

    def _format(self, password: str | None) -> str:
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if password:
                secret = password if password == "***" else quote(password, safe="")
                auth += f":{secret}"
            auth += "@"
        return f"postgresql://{auth}{self.host}:{self.port}/{quote(self.database, safe='')}"


def parse_pg_url(url: str) -> PgUrl:
    """Parse a PostgreSQL URL; a malformed one is a UserError that never echoes a password."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 5432
    except ValueError:
        raise UserError(
            "The PostgreSQL URL is malformed; expected postgresql://user:password@host:port/db."
        ) from None
    database = unquote(parts.path.lstrip("/"))
    if parts.scheme not in _SCHEMES or not parts.hostname or not database:
        raise UserError(
            "The PostgreSQL URL is malformed; expected postgresql://user:password@host:port/db."
        )
    return PgUrl(
        host=parts.hostname,
        port=port,
        database=database,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mask_url(url: str) -> str:
    """The URL with its password masked, or a placeholder when it cannot be parsed."""
    try:
        return parse_pg_url(url).masked
    except UserError:
        return "<malformed PostgreSQL URL>"
