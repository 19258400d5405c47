"""Credentials of every destination that has them: passwords never show, a missing one says where it was looked for."""

from __future__ import annotations

import pytest

import dataload
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
    pipe = dataload.pipeline("secret_p", destination=destination, dataset_name="x", pipelines_dir=tmp_path)
    pipe.retry_policy = RetryPolicy(attempts=1)
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
