"""Configuration: precedence, section fallback, coercion, secrets and their redaction.

This module uses postponed annotations on purpose: every function resolved here
has string annotations, as in user code with ``from __future__ import annotations``.
"""

from __future__ import annotations

import copy
import importlib
import os
import pickle
import typing
from pathlib import Path
from typing import Any, Optional

import pytest

from dataload.configuration import NOT_FOUND, Secret, config, lookup, redact, redact_url, resolve_arguments, secrets
from dataload.configuration.resolve import candidate_keys, coerce_value
from dataload.exceptions import InvalidConfig, MissingConfig

cfg = importlib.import_module("dataload.configuration")  # the package; dataload.config is the marker namespace

SECRET = "hunter2-very-secret"
ABSENT = "-"  # "not configured here" in the truth tables


class Project:
    """A project directory with a ``.dataload`` folder to write real TOML files into."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, filename: str, text: str) -> Path:
        path = self.root / ".dataload" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Run in an empty project dir, with no config variables inherited from the machine."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.split("__")[0] in ("SOURCES", "DESTINATION", "NORMALIZE", "DATALOAD_PROJECT_DIR", "API_KEY"):
            monkeypatch.delenv(name)
    return Project(tmp_path)


def resolved(func: Any, *args: Any, sections: tuple[str, ...] = ("sources", "github"), **kwargs: Any) -> Any:
    return resolve_arguments(func, args, kwargs, sections=sections).arguments


def all_text(exc: BaseException) -> str:
    """Everything an exception chain could show: messages, args and attributes."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


# --- precedence: explicit > env > secrets.toml > config.toml ------------------------


@pytest.mark.parametrize(
    "explicit, env, secrets_toml, config_toml, expected",
    [
        ("arg", "env", "sec", "cfg", "arg"),
        (ABSENT, "env", "sec", "cfg", "env"),
        (ABSENT, "env", ABSENT, "cfg", "env"),
        (ABSENT, "env", "sec", ABSENT, "env"),
        (ABSENT, ABSENT, "sec", "cfg", "sec"),
        (ABSENT, ABSENT, "sec", ABSENT, "sec"),
        (ABSENT, ABSENT, ABSENT, "cfg", "cfg"),
        ("arg", ABSENT, ABSENT, ABSENT, "arg"),
        ("", "env", "sec", "cfg", ""),
    ],
)
def test_precedence(
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
    explicit: str,
    env: str,
    secrets_toml: str,
    config_toml: str,
    expected: str,
) -> None:
    if env != ABSENT:
        monkeypatch.setenv("SOURCES__GITHUB__START", env)
    if secrets_toml != ABSENT:
        project.write("secrets.toml", f'[sources.github]\nstart = "{secrets_toml}"\n')
    if config_toml != ABSENT:
        project.write("config.toml", f'[sources.github]\nstart = "{config_toml}"\n')

    def github(start: str = config.value) -> None: ...

    kwargs: dict[str, Any] = {} if explicit == ABSENT else {"start": explicit}
    assert resolved(github, **kwargs) == {"start": expected}


def test_explicit_none_and_positional_arguments_win(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__START", "env")
    monkeypatch.setenv("SOURCES__GITHUB__PER_PAGE", "50")

    def github(start: str | None = config.value, per_page: int = config.value) -> None: ...

    assert resolved(github, None) == {"start": None, "per_page": 50}
    assert resolved(github, "pos", per_page=7) == {"start": "pos", "per_page": 7}


def test_marker_passed_explicitly_is_resolved(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__TOKEN", SECRET)

    def github(token: str = "default") -> None: ...

    (token,) = resolved(github, token=secrets.value).values()
    assert isinstance(token, Secret) and str(token) == SECRET


def test_plain_defaults_applied_and_positional_only_gap(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__B", "2")

    def github(a: int = 1, b: int = config.value, /, *rest: int, c: str = "c", **extra: Any) -> Any:
        return a, b, rest, c, extra

    bound = resolve_arguments(github, (), {}, sections=("sources", "github"))
    assert github(*bound.args, **bound.kwargs) == (1, 2, (), "c", {})


def test_binding_errors_are_not_hidden(project: Project) -> None:
    def github(start: str = config.value) -> None: ...

    with pytest.raises(TypeError):
        resolve_arguments(github, (), {"nope": 1}, sections=("sources",))


# --- section fallback ------------------------------------------------------------------


def test_candidate_keys_order() -> None:
    assert candidate_keys(("sources", "github", "issues"), "api_key") == [
        ("sources", "github", "issues", "api_key"),
        ("sources", "github", "api_key"),
        ("sources", "api_key"),
    ]
    assert candidate_keys((), "log_level") == [("log_level",)]


@pytest.mark.parametrize(
    "env, secrets_toml, config_toml, expected",
    [
        # a more specific key wins even from a weaker provider
        ({"SOURCES__GITHUB__API_KEY": "env-github"}, "", "[sources.github.issues]\napi_key = 'cfg-issues'",
         "cfg-issues"),
        ({"SOURCES__API_KEY": "env-sources"}, "[sources.github]\napi_key = 'sec-github'", "", "sec-github"),
        ({"SOURCES__GITHUB__API_KEY": "env-github"}, "[sources]\napi_key = 'sec-sources'", "", "env-github"),
        ({}, "[sources]\napi_key = 'sec-sources'", "", "sec-sources"),
        ({"SOURCES__GITHUB__ISSUES__API_KEY": "env-issues", "SOURCES__API_KEY": "x"}, "", "", "env-issues"),
        # the bare name is never used, nor a sibling section
        ({"API_KEY": "bare"}, "api_key = 'bare'", "api_key = 'bare'", NOT_FOUND),
        ({"SOURCES__GITLAB__API_KEY": "other"}, "[sources.gitlab]\napi_key = 'other'", "", NOT_FOUND),
    ],
)
def test_section_fallback(
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    secrets_toml: str,
    config_toml: str,
    expected: Any,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    project.write("secrets.toml", secrets_toml)
    project.write("config.toml", config_toml)
    assert lookup(("sources", "github", "issues"), "api_key") == expected


def test_trace_lists_every_place_in_order(project: Project) -> None:
    project.write("secrets.toml", "")
    project.write("config.toml", "")
    trace: list[str] = []
    assert lookup(("sources", "github", "issues"), "api_key", trace=trace) is NOT_FOUND
    assert trace == [
        "environment variable SOURCES__GITHUB__ISSUES__API_KEY",
        "secrets.toml [sources.github.issues] api_key",
        "config.toml [sources.github.issues] api_key",
        "environment variable SOURCES__GITHUB__API_KEY",
        "secrets.toml [sources.github] api_key",
        "config.toml [sources.github] api_key",
        "environment variable SOURCES__API_KEY",
        "secrets.toml [sources] api_key",
        "config.toml [sources] api_key",
    ]


def test_trace_stops_where_found_and_names_missing_files(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__API_KEY", "k")
    trace: list[str] = []
    assert lookup(("sources", "github"), "api_key", trace=trace) == "k"
    missing_secrets = project.root / ".dataload" / "secrets.toml"
    assert trace[1] == f"secrets.toml [sources.github] api_key (no file {missing_secrets})"
    assert trace[-1] == "environment variable SOURCES__API_KEY"
    assert len(trace) == 4


def test_toml_tables_and_native_types(project: Project) -> None:
    project.write(
        "config.toml",
        "[normalize]\nworkers = 4\n[destination.postgres.credentials]\nhost = 'db'\nport = 5432\n",
    )
    assert lookup(("normalize",), "workers") == 4
    assert lookup(("destination", "postgres"), "credentials") == {"host": "db", "port": 5432}
    assert lookup(("normalize", "workers"), "deeper") is NOT_FOUND


def test_files_are_read_at_each_call(project: Project) -> None:
    project.write("config.toml", "[sources.github]\nstart = 'first'\n")
    assert config["sources.github.start"] == "first"
    project.write("config.toml", "[sources.github]\nstart = 'second'\n")
    assert config["sources.github.start"] == "second"


@pytest.mark.parametrize("file_name", ["config.toml", "secrets.toml"])
def test_invalid_toml_names_the_file_and_the_line(project: Project, file_name: str) -> None:
    path = project.write(file_name, "[sources.github]\nstart = 'ok'\nend = \n")
    with pytest.raises(InvalidConfig, match="not valid TOML") as info:
        lookup(("sources",), "start")
    assert str(info.value).startswith(f"config file {path} is not valid TOML: ") and "line 3" in str(info.value)


# --- DATALOAD_PROJECT_DIR ----------------------------------------------------------------


def test_project_dir_from_env_var_else_cwd(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    project.write("config.toml", "[sources.github]\nstart = 'from-cwd'\n")
    other = Project(tmp_path / "elsewhere")
    other.write("config.toml", "[sources.github]\nstart = 'from-env-dir'\n")

    assert lookup(("sources", "github"), "start") == "from-cwd"
    monkeypatch.setenv("DATALOAD_PROJECT_DIR", str(other.root))
    assert lookup(("sources", "github"), "start") == "from-env-dir"
    monkeypatch.delenv("DATALOAD_PROJECT_DIR")
    monkeypatch.chdir(other.root / ".dataload")  # cwd is read at call time too
    assert lookup(("sources", "github"), "start") is NOT_FOUND


# --- coercion -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, annotation, expected",
    [
        ("42", int, 42),
        (" 7 ", int, 7),
        (42, int, 42),
        ("-3", "int", -3),
        ("1.5", float, 1.5),
        (2, float, 2.0),
        ("true", bool, True),
        ("True", bool, True),
        ("yes", bool, True),
        ("1", bool, True),
        ("false", bool, False),
        ("NO", bool, False),
        ("0", bool, False),
        (False, bool, False),
        (1, bool, True),
        ("abc", str, "abc"),
        (2024, str, "2024"),
        ('{"a": [1, 2]}', dict, {"a": [1, 2]}),
        ('{"a": 1}', dict[str, int], {"a": 1}),
        ('{"a": 1}', typing.Dict[str, int], {"a": 1}),
        ({"a": 1}, dict, {"a": 1}),
        ("[1, 2]", list, [1, 2]),
        ("[1, 2]", list[int], [1, 2]),
        (["x"], list, ["x"]),
        ("5", int | None, 5),
        ("5", Optional[int], 5),
        ("5", "int | None", 5),
        ("5", "None | int", 5),
        ("5", "Optional[int]", 5),
        ("5", "typing.Optional[int]", 5),
        ("[1]", "list[int] | None", [1]),
        ('{"a": 1}', "dict[str, int | None] | None", {"a": 1}),
        ('{"a": 1}', "Dict[str, Any]", {"a": 1}),
        # no coercion: unknown, ambiguous or absent annotations leave the value alone
        ("5", Any, "5"),
        ("5", int | str, "5"),
        ("5", "int | str", "5"),
        ("5", "SomethingElse", "5"),
        ("5", Path, "5"),
    ],
)
def test_coerce_value(value: Any, annotation: Any, expected: Any) -> None:
    result = coerce_value(value, annotation)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "value, annotation, expected_type",
    [
        ("abc", int, "int"),
        ("1.5", int, "int"),
        ("", int, "int"),
        (True, int, "int"),
        (1.5, int, "int"),
        ("abc", float, "float"),
        (True, float, "float"),
        ("maybe", bool, "bool"),
        ("2", bool, "bool"),
        (2, bool, "bool"),
        ({"a": 1}, str, "str"),
        (True, str, "str"),
        ("[1, 2]", dict, "dict"),
        ("{not json", dict, "dict"),
        ('{"a": 1}', list, "list"),
        ("x", "int | None", "int"),
    ],
)
def test_coerce_value_failures(value: Any, annotation: Any, expected_type: str) -> None:
    with pytest.raises(ValueError) as info:
        coerce_value(value, annotation)
    assert str(info.value) == f"expected {expected_type}"
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_env_and_toml_values_coerced_to_annotations(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__WORKERS", "8")
    monkeypatch.setenv("NORMALIZE__STRICT", "yes")
    monkeypatch.setenv("NORMALIZE__TABLES", '["a", "b"]')
    project.write("config.toml", "[normalize]\nratio = 1\nlimit = '10'\nhints = { a = 1 }\nday = 2024-01-31\n")

    def normalize(
        workers: int = config.value,
        strict: bool = config.value,
        tables: list[str] = config.value,
        ratio: float = config.value,
        limit: int | None = config.value,
        hints: dict[str, int] = config.value,
        day: str = config.value,
    ) -> None: ...

    assert resolved(normalize, sections=("normalize",)) == {
        "workers": 8,
        "strict": True,
        "tables": ["a", "b"],
        "ratio": 1.0,
        "limit": 10,
        "hints": {"a": 1},
        "day": "2024-01-31",
    }


def test_unresolvable_annotations_fall_back_to_text(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__PAGES", "3")

    def github(pages: int | None = config.value, client: NotDefinedAnywhere = None) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    assert resolved(github) == {"pages": 3, "client": None}


def test_invalid_value_names_key_place_and_type(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__WORKERS", "many")

    def normalize(workers: int = config.value) -> None: ...

    with pytest.raises(InvalidConfig) as info:
        resolved(normalize, sections=("normalize",))
    message = ("invalid value for 'normalize.workers' from environment variable NORMALIZE__WORKERS: "
               "expected int, got 'many'")
    assert info.value.errors == [message]  # type: ignore[attr-defined]
    assert message in str(info.value)


def test_every_invalid_value_is_reported(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write("config.toml", "[normalize]\nworkers = 'many'\nstrict = 'perhaps'\n")

    def normalize(workers: int = config.value, strict: bool = config.value) -> None: ...

    with pytest.raises(InvalidConfig) as info:
        resolved(normalize, sections=("normalize",))
    errors = info.value.errors  # type: ignore[attr-defined]
    assert len(errors) == 2
    assert "'normalize.workers' from config.toml [normalize] workers: expected int" in errors[0]
    assert "'normalize.strict' from config.toml [normalize] strict: expected bool" in errors[1]
    assert "2 invalid config values:" in str(info.value)


# --- missing values -------------------------------------------------------------------------


def test_missing_value_lists_every_place(project: Project) -> None:
    def github(api_key: str = secrets.value) -> None: ...

    with pytest.raises(MissingConfig) as info:
        resolved(github, sections=("sources", "github", "issues"))
    exc = info.value
    assert exc.key == "sources.github.issues.api_key"  # type: ignore[attr-defined]
    assert len(exc.looked_in) == 9  # type: ignore[attr-defined]
    message = str(exc)
    assert "sources.github.issues.api_key" in message
    for place in (
        "environment variable SOURCES__GITHUB__ISSUES__API_KEY",
        "environment variable SOURCES__GITHUB__API_KEY",
        "environment variable SOURCES__API_KEY",
        "secrets.toml [sources.github] api_key",
        "config.toml [sources] api_key",
    ):
        assert place in message


def test_missing_is_reported_before_invalid(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__PAGES", "many")

    def github(pages: int = config.value, start: str = config.value) -> None: ...

    with pytest.raises(MissingConfig, match="'sources.github.start'"):
        resolved(github)


# --- secrets ----------------------------------------------------------------------------------


def test_secret_behaves_like_its_value_but_hides_repr() -> None:
    secret = Secret("pw")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "pw" and type(str(secret)) is str
    assert f"{secret}" == "{}".format(secret) == "%s" % secret == "pw"
    assert secret == "pw" and isinstance(secret, str)
    assert repr([secret]) == "[Secret('***')]"
    assert repr({"password": secret}) == "{'password': Secret('***')}"
    assert f"{secret!r}" == "Secret('***')"
    restored = pickle.loads(pickle.dumps(secret))
    assert type(restored) is Secret and restored == "pw"


def test_secrets_come_back_wrapped(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__API_KEY", SECRET)
    monkeypatch.setenv("SOURCES__GITHUB__START", "2024")
    project.write("secrets.toml", f"[destination.postgres.credentials]\npassword = '{SECRET}'\nport = 5432\n")

    def github(api_key: str = secrets.value, start: str = config.value) -> None: ...

    args = resolved(github)
    assert type(args["api_key"]) is Secret and args["api_key"] == SECRET
    assert type(args["start"]) is str
    assert SECRET not in repr(args)
    assert isinstance(lookup(("sources", "github"), "api_key", secret=True), Secret)
    assert not isinstance(lookup(("sources", "github"), "api_key"), Secret)
    credentials = secrets["destination.postgres.credentials"]
    assert credentials == {"password": SECRET, "port": 5432}
    assert type(credentials["password"]) is Secret and SECRET not in repr(credentials)


def test_secret_json_is_parsed_and_stays_secret(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__BIGQUERY__CREDENTIALS", f'{{"private_key": "{SECRET}"}}')

    def bigquery(credentials: dict[str, str] = secrets.value) -> None: ...

    (credentials,) = resolved(bigquery, sections=("destination", "bigquery")).values()
    assert credentials == {"private_key": SECRET}
    assert SECRET not in repr(credentials)


def secret_port(port: int = secrets.value) -> None: ...


def secret_credentials(credentials: dict[str, str] = secrets.value) -> None: ...


def secret_tokens(tokens: list[str] = secrets.value) -> None: ...


@pytest.mark.parametrize(
    "func, env_value",
    [
        (secret_port, SECRET),
        (secret_credentials, f'{{"bad json {SECRET}'),
        (secret_credentials, f'["{SECRET}"]'),
        (secret_tokens, f"[{SECRET}]"),
    ],
)
def test_secret_never_in_invalid_config(
    project: Project, monkeypatch: pytest.MonkeyPatch, func: Any, env_value: str
) -> None:
    (name,) = func.__annotations__.keys() - {"return"}
    monkeypatch.setenv(f"SOURCES__GITHUB__{name.upper()}", env_value)

    with pytest.raises(InvalidConfig) as info:
        resolved(func)
    (error,) = info.value.errors  # type: ignore[attr-defined]
    assert error.startswith(f"invalid value for 'sources.github.{name}' from environment variable")
    assert ": expected " in error and error in str(info.value)
    assert SECRET not in all_text(info.value)


def test_secret_never_in_missing_config(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__API_KEY", SECRET)
    monkeypatch.setenv("SOURCES__GITHUB__PAGES", "many")

    def github(api_key: str = secrets.value, pages: int = config.value, token: str = secrets.value) -> None: ...

    with pytest.raises(MissingConfig, match="'sources.github.token'") as info:
        resolved(github)
    assert SECRET not in all_text(info.value)


# --- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, secret_values, expected",
    [
        ("auth failed for token abc123", ["abc123"], "auth failed for token ***"),
        ("abc123 and again abc123", ["abc123"], "*** and again ***"),
        ("user=bob pw=s3cr3t", ["s3cr3t", "bob"], "user=*** pw=***"),
        ("key=abcdef", ["abc", "abcdef"], "key=***"),
        ("nothing to hide", ["abc123"], "nothing to hide"),
        ("empty secrets are ignored", ["", "zzz"], "empty secrets are ignored"),
        ("secret object pw", [Secret("pw")], "secret object ***"),
        ("no secrets", [], "no secrets"),
    ],
)
def test_redact(text: str, secret_values: list[str], expected: str) -> None:
    assert redact(text, secret_values) == expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://user:pw@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user:pw@host:5432/db?sslmode=require", "postgresql://user:***@host:5432/db?sslmode=require"),
        ("postgresql://user:p@ss@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user:p%40ss@host/db", "postgresql://user:***@host/db"),
        ("mysql+pymysql://:pw@host", "mysql+pymysql://:***@host"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("postgresql://user:@host/db", "postgresql://user:@host/db"),
        ("postgresql://host/db", "postgresql://host/db"),
        ("duckdb:///data/my.duckdb", "duckdb:///data/my.duckdb"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# --- markers and the package surface ------------------------------------------------------------


def test_markers() -> None:
    assert repr(config.value) == "dataload.config.value"
    assert repr(secrets.value) == "dataload.secrets.value"
    assert config.value is not secrets.value
    for marker in (config.value, secrets.value):
        assert copy.deepcopy(marker) is marker
        assert pickle.loads(pickle.dumps(marker)) is marker
    assert repr(config) == "dataload.config" and repr(secrets) == "dataload.secrets"


def test_item_access(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__GITHUB__API_KEY", SECRET)
    project.write("config.toml", "log_level = 'INFO'\n[sources]\nstart = '2024'\n")
    assert config["sources.github.start"] == "2024"  # falls back like parameters do
    assert config["log_level"] == "INFO"
    assert type(secrets["sources.github.api_key"]) is Secret
    assert type(config["sources.github.api_key"]) is str
    with pytest.raises(MissingConfig) as info:
        config["sources.github.missing"]
    assert info.value.key == "sources.github.missing"  # type: ignore[attr-defined]
    assert "environment variable SOURCES__GITHUB__MISSING" in str(info.value)
    with pytest.raises(ValueError):
        config["sources..start"]


def test_public_names() -> None:
    assert sorted(cfg.__all__) == sorted(
        ["NOT_FOUND", "Secret", "config", "is_credential_key", "lookup", "redact", "redact_url", "resolve_arguments",
         "secrets"]
    )
    for name in cfg.__all__:
        doc = getattr(cfg, name).__doc__
        assert doc and doc.strip(), name
