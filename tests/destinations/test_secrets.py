"""Credentials of every destination that has them: passwords never show, a missing one says where it was looked for."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

import dataload
from conftest import POSTGRES_URL, service_unavailable
from dataload.configuration import Secret, redact, redact_url
from dataload.exceptions import MissingConfig, TransientLoadError
from dataload.load.step import RetryPolicy
from destinations import postgres, sqlalchemy

PASSWORD = "hunter2-Sekr3t"
CASES = [  # (factory, URL to a closed port, the same credentials as parts)
    pytest.param(postgres, f"postgresql://loader:{PASSWORD}@127.0.0.1:1/test",
                 {"host": "127.0.0.1", "port": 1, "user": "loader", "password": PASSWORD, "dbname": "test"},
                 id="postgres"),
    pytest.param(sqlalchemy, f"mysql+pymysql://loader:{PASSWORD}@127.0.0.1:1/test",
                 {"drivername": "mysql+pymysql", "host": "127.0.0.1", "port": 1, "username": "loader",
                  "password": PASSWORD, "database": "test"}, id="sqlalchemy"),
]


@pytest.mark.parametrize("factory, url, parts", CASES)
def test_password_never_shows_in_repr_or_errors(factory, url, parts, tmp_path):
    destination = factory(url)
    assert PASSWORD not in repr(destination) and "loader:***@127.0.0.1:1" in repr(destination)
    assert PASSWORD not in str(getattr(destination, "attach_spec", dict)())
    with pytest.raises(TransientLoadError) as caught:
        destination.client(dataset_name="x", pipeline_name="p", local_dir=tmp_path)
    assert PASSWORD not in str(caught.value) and caught.value.__context__ is None
    pipe = dataload.pipeline("secret_p", destination=destination, dataset_name="x", pipelines_dir=tmp_path,
                             retry_policy=RetryPolicy(attempts=1))
    with pytest.raises(TransientLoadError) as caught:
        pipe.run([{"a": 1}], table_name="t")
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(pipe)
    assert PASSWORD not in (tmp_path / "secret_p" / "pipeline.json").read_text()
    from_parts = factory(parts)
    assert PASSWORD not in repr(from_parts) and "***" in repr(from_parts)


@pytest.mark.parametrize("name, factory", [("postgres", postgres), ("sqlalchemy", sqlalchemy)])
def test_missing_credentials_say_where_they_were_looked_for(name, factory, monkeypatch, tmp_path):
    env = f"DESTINATION__{name.upper()}__CREDENTIALS"
    monkeypatch.delenv(env, raising=False)
    monkeypatch.delenv("DESTINATION__CREDENTIALS", raising=False)
    monkeypatch.setenv("DATALOAD_PROJECT_DIR", str(tmp_path))
    with pytest.raises(MissingConfig) as caught:
        factory()
    message = str(caught.value)
    assert f"destination.{name}.credentials" in message
    assert env in message and "secrets.toml" in message


# -- credentials in the query string (item 7) ------------------------------------------------------
QUERY_PASSWORD = "Qs/p@ss w&rd=7"  # needs percent-encoding in a URL
ENCODINGS = {QUERY_PASSWORD, quote(QUERY_PASSWORD, safe=""), quote_plus(QUERY_PASSWORD), quote(QUERY_PASSWORD)}


def leaks(text: str) -> list[str]:
    """The encodings of the query-string password found in ``text``."""
    return [form for form in ENCODINGS if form in text]


def working_dir_leaks(root: Path) -> list[str]:
    """Files under ``root`` that hold the password in any encoding."""
    return [str(p) for p in root.rglob("*") if p.is_file() and leaks(p.read_bytes().decode("utf-8", "replace"))]


QUERY_CASES = [
    pytest.param(postgres, f"postgresql://loader@127.0.0.1:1/test?password={quote(QUERY_PASSWORD, safe='')}",
                 id="postgres-password"),
    pytest.param(postgres,
                 f"postgresql://loader@127.0.0.1:1/test?sslmode=prefer&sslpassword={quote_plus(QUERY_PASSWORD)}",
                 id="postgres-sslpassword"),
    pytest.param(sqlalchemy, f"mysql+pymysql://loader@127.0.0.1:1/test?password={quote(QUERY_PASSWORD, safe='')}",
                 id="mariadb-password"),
    pytest.param(sqlalchemy,
                 f"mysql+pymysql://loader@127.0.0.1:1/test?charset=utf8mb4&passwd={quote_plus(QUERY_PASSWORD)}",
                 id="mariadb-passwd"),
]


@pytest.mark.parametrize("factory, url", QUERY_CASES)
def test_a_password_in_the_query_string_never_shows(factory, url, tmp_path, caplog):
    destination = factory(url)
    assert not leaks(repr(destination)) and "***" in repr(destination)
    with pytest.raises(TransientLoadError) as caught:
        destination.client(dataset_name="x", pipeline_name="p", local_dir=tmp_path)
    assert not leaks(str(caught.value))
    pipe = dataload.pipeline("query_p", destination=destination, dataset_name="x", pipelines_dir=tmp_path,
                             retry_policy=RetryPolicy(attempts=2, first_wait=0.01))
    with caplog.at_level(logging.DEBUG, logger="dataload"), pytest.raises(TransientLoadError) as caught:
        pipe.run([{"a": 1}], table_name="t")
    assert not leaks(str(caught.value)) and not leaks(repr(pipe))
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retries and not any(leaks(m) for m in retries)
    assert not working_dir_leaks(tmp_path)


@pytest.mark.parametrize("text, expected", [
    ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u@h/db?password=p%2Fw&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    ("mysql+pymysql://u@h/db?charset=utf8&passwd=x+y", "mysql+pymysql://u@h/db?charset=utf8&passwd=***"),
    ("postgresql://u@h/db?sslpassword=a&pwd=b&api_token=c",
     "postgresql://u@h/db?sslpassword=***&pwd=***&api_token=***"),
    ("postgresql://u@h/db?PASSWORD=a", "postgresql://u@h/db?PASSWORD=***"),
    ("host=h user=u password='a b' dbname=d", "host=h user=u password=*** dbname=d"),
    ("cannot connect to postgresql://u:pw@h/db: refused", "cannot connect to postgresql://u:***@h/db: refused"),
    ("postgresql://u@h/db?sslmode=require", "postgresql://u@h/db?sslmode=require"),
])
def test_redact_url_hides_every_credential_part(text, expected):
    assert redact_url(text) == expected


def test_redact_hides_a_secret_in_every_encoding():
    text = f"raw {QUERY_PASSWORD} quoted {quote(QUERY_PASSWORD, safe='')} plus {quote_plus(QUERY_PASSWORD)}"
    assert not leaks(redact(text, [Secret(QUERY_PASSWORD)]))


def test_postgres_credentials_from_the_environment_are_resolved_again_by_attach(tmp_path, monkeypatch):
    """The working dir keeps where the credentials came from, not the credentials."""
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        service_unavailable("PostgreSQL")
    separator = "&" if "?" in POSTGRES_URL else "?"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS",
                       f"{POSTGRES_URL}{separator}password={quote(QUERY_PASSWORD, safe='')}")  # trust auth ignores it
    dataset = f"sec_{uuid.uuid4().hex[:8]}"
    pipe = dataload.pipeline("env_p", destination="postgres", dataset_name=dataset, pipelines_dir=tmp_path)
    try:
        pipe.run([{"a": 1}], table_name="t")
        assert not working_dir_leaks(tmp_path)
        attached = dataload.attach("env_p", pipelines_dir=tmp_path)
        assert attached.dataset().table("t").rows()[0]["a"] == 1  # read back through the resolved credentials
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')


def test_attach_after_credentials_with_a_secret_given_in_code_says_how_to_pass_them(tmp_path, monkeypatch):
    from dataload.exceptions import PipelineError

    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        service_unavailable("PostgreSQL")
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    monkeypatch.setenv("DATALOAD_PROJECT_DIR", str(tmp_path))
    url = POSTGRES_URL.replace("postgresql://postgres@", f"postgresql://postgres:{quote(QUERY_PASSWORD, safe='')}@")
    dataset = f"sec_{uuid.uuid4().hex[:8]}"
    pipe = dataload.pipeline("code_p", destination=postgres(url), dataset_name=dataset, pipelines_dir=tmp_path)
    try:
        pipe.run([{"a": 1}], table_name="t")  # trust auth accepts any password
        assert not working_dir_leaks(tmp_path)
        with pytest.raises(PipelineError) as caught:
            dataload.attach("code_p", pipelines_dir=tmp_path)
        assert "destination=" in str(caught.value) and "DESTINATION__POSTGRES__CREDENTIALS" in str(caught.value)
        attached = dataload.attach("code_p", destination=postgres(url), pipelines_dir=tmp_path)
        assert attached.dataset().table("t").rows()[0]["a"] == 1
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE')
