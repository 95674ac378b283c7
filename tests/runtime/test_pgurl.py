import pytest

from salesoptic.errors import UserError
from salesoptic.runtime.pgurl import mask_url, parse_pg_url


def test_parse_and_jdbc_form() -> None:
    pg = parse_pg_url("postgresql://sales:s%40cret@db.example:6543/retail")
    assert (pg.host, pg.port, pg.database, pg.user, pg.password) == (
        "db.example",
        6543,
        "retail",
        "sales",
        "s@cret",
    )
    assert pg.jdbc_url == "jdbc:postgresql://db.example:6543/retail"
    assert "cret" not in pg.jdbc_url
    assert pg.jdbc_properties["password"] == "s@cret"
    assert pg.masked == "postgresql://sales:***@db.example:6543/retail"
    assert parse_pg_url(pg.url) == pg


def test_default_port_and_no_password() -> None:
    pg = parse_pg_url("postgres://u@localhost/db")
    assert pg.port == 5432
    assert pg.password is None
    assert pg.masked == "postgresql://u@localhost:5432/db"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "mysql://u:topsecret@h:3306/db",
        "postgresql://u:topsecret@h:port/db",
        "postgresql://u:topsecret@h:5432",
        "postgresql://u:topsecret@:5432/db",
    ],
)
def test_malformed_urls_are_user_errors_without_the_password(url: str) -> None:
    with pytest.raises(UserError) as info:
        parse_pg_url(url)
    assert "topsecret" not in str(info.value)
    assert mask_url(url) == "<malformed PostgreSQL URL>"
