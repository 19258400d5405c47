"""Driver errors as dataload errors, classified by what they mean, never by the driver's class.

The SQLSTATE (PostgreSQL, and any driver that reports one) or the server's error code
(MariaDB/MySQL) decides; DuckDB, which has neither, by the class of its error:

* **transient**, worth a retry: the server could not be reached or the connection was lost,
  a serialization failure or deadlock, a lock timeout, too many connections, a server shutting
  down or starting up (SQLite: a locked or busy database; DuckDB: an I/O error, such as a file
  another process holds, or a transaction conflict);
* **terminal**, retrying will not help: everything about the data, the schema or the
  configuration (a missing database or role, a wrong password, too many columns, a value a
  column cannot hold; DuckDB running out of memory, with how to give it more).

At connect time a terminal error is an :class:`InvalidConfig` (the package is fine: fix the
credentials and run again); during a load it is a :class:`TerminalLoadError` naming the table,
the column where it can be found, and the file. Messages are redacted, and leave out the row
values servers quote in data errors unless the user asks with ``LOAD__SHOW_ROW_VALUES=true``
(or ``[load] show_row_values = true``).

>>> is_transient(type("SerializationFailure", (Exception,), {"sqlstate": "40001"})())
True
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from dataload.configuration import NOT_FOUND, Secret, lookup, redact, redact_url
from dataload.exceptions import InvalidConfig, TerminalLoadError, TransientLoadError
from dataload.protocol import LoadPackage, PackageFile

# SQLSTATE: connection exception (class 08), serialization failure, deadlock, lock not available,
# too many connections, admin/crash shutdown, cannot connect now
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03"}
# MariaDB/MySQL: lock wait timeout, deadlock, can't connect, server gone away, lost connection,
# connection killed, server shutdown, too many connections (server, user), query interrupted
_TRANSIENT_MYSQL = {1205, 1213, 2002, 2003, 2006, 2013, 2055, 1927, 1053, 1040, 1203, 1317}
# libpq reports a refused login without a SQLSTATE: these FATAL reasons pass, the others are config
_TRANSIENT_FATAL = ("too many clients", "connection slots are reserved", "starting up", "shutting down",
                    "in recovery mode", "not yet accepting connections", "terminating connection")
_ROW_VALUE_CLASSES = ("22", "23")  # data exception, integrity constraint violation: details quote rows
_QUOTED_VALUE = re.compile(r"""(?P<lead>(?:value|entry|type \w[\w ]*)\s*:?\s*)"""
                           r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_COPY_COLUMN = re.compile(r"\bcolumn (?P<column>[^:,]+):")
_DUCKDB_TRANSIENT = ("IOException", "TransactionException")
_DUCKDB_OUT_OF_MEMORY = ("could not allocate block", "failed to pin block")
_MISSING_TABLE_SQLSTATES = ("42P01", "3F000", "42S02")  # undefined table, invalid schema name; MySQL's table
_MISSING_TABLE_MYSQL = (1146, 1049)  # table doesn't exist, unknown database
HIDDEN = "(row value hidden; LOAD__SHOW_ROW_VALUES=true shows it)"


def is_transient(error: BaseException) -> bool:
    """True when retrying ``error`` may succeed (see the module docstring)."""
    original = getattr(error, "orig", None) or error
    if getattr(error, "connection_invalidated", False):
        return True
    state = sqlstate(original)
    if state:
        return state.startswith("08") or state in _TRANSIENT_SQLSTATES
    code = mysql_code(original)
    if code is not None:
        return code in _TRANSIENT_MYSQL or (code == 0 and "InterfaceError" in type(original).__name__)
    module, message = type(original).__module__, str(original)
    if module.startswith("sqlite3"):
        return "locked" in message or "busy" in message
    if module.startswith(("duckdb", "_duckdb")):  # no codes: the class says what happened
        return not _out_of_memory(original) and _is_a(original, _DUCKDB_TRANSIENT)
    if module.startswith("psycopg"):  # no SQLSTATE: the server never answered, or refused the login
        fatal = "FATAL:" in message
        return type(original).__name__ in ("OperationalError", "InterfaceError") and (
            not fatal or any(reason in message for reason in _TRANSIENT_FATAL))
    return type(original).__name__ == "OperationalError"  # a driver with no codes: only its class is left


def is_missing_table(error: BaseException) -> bool:
    """True when ``error`` says the table (or its schema or database) does not exist."""
    original = getattr(error, "orig", None) or error
    if sqlstate(original) in _MISSING_TABLE_SQLSTATES or mysql_code(original) in _MISSING_TABLE_MYSQL:
        return True
    if type(original).__module__.startswith("sqlite3"):
        return "no such table" in str(original)
    return _is_a(original, ("CatalogException",))  # DuckDB


def _is_a(error: BaseException, class_names: tuple[str, ...]) -> bool:
    """True when ``error``'s class or a base class has one of ``class_names`` (DuckDB's only classification)."""
    return any(kind.__name__ in class_names for kind in type(error).__mro__)


def _out_of_memory(error: BaseException) -> bool:
    return _is_a(error, ("OutOfMemoryException",)) or any(text in str(error) for text in _DUCKDB_OUT_OF_MEMORY)


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE a driver attached to ``error`` (psycopg ``sqlstate``, psycopg2 ``pgcode``), if any."""
    value = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return str(value) if value else None


def mysql_code(error: BaseException) -> int | None:
    """The MariaDB/MySQL error number of a driver error, if it is one."""
    if not type(error).__module__.startswith(("pymysql", "MySQLdb", "mysql", "mariadb")):
        return None
    first = error.args[0] if error.args else None
    return first if isinstance(first, int) else None


def connect_error(error: BaseException, target: str, secrets: list[Secret]) -> Exception:
    """A failed connection: transient (retried) or :class:`InvalidConfig` (a missing database, role, password)."""
    detail = _redacted(_driver_text(error), secrets)
    if is_transient(error):
        return TransientLoadError(f"cannot connect to {target} (worth retrying): {detail}")
    return InvalidConfig(f"cannot connect to {target}: {detail}; check the credentials "
                         "(database, user, password) and run again")


def load_error(error: BaseException, package: LoadPackage, table: str | None, file: str | None,
               secrets: list[Secret]) -> Exception:
    """A driver error during a load as a transient or terminal load error naming table, column and file."""
    original = getattr(error, "orig", None) or error
    message, column = _message(original)
    if is_transient(error):
        where = f"package {package.load_id}" + (f", table {table!r}" if table else "")
        return TransientLoadError(_redacted(f"{where}: connection, server or I/O problem, worth retrying: {message}",
                                            secrets))
    if _out_of_memory(original):
        message = (f"DuckDB ran out of memory ({message}); give it more with "
                   "destinations.duckdb(path, memory_limit='4GB')")
    unstorable = _unstorable(original, message, _load_file(package, file), column)
    if unstorable:
        column, message = unstorable
    if table and not file:
        file = ", ".join(str(f.path) for f in package.files_of(table))
    where = (f"package {package.load_id}" + (f", table {table!r}" if table else "")
             + (f", column {column!r}" if column else "") + (f" (file {file})" if file else ""))
    state = sqlstate(original) or mysql_code(original)
    code = f" [{state}]" if state else ""
    return TerminalLoadError(_redacted(f"{where}: {type(original).__name__}{code}: {message}", secrets),
                             table=table, file=file)


def read_error(error: BaseException, what: str, secrets: list[Secret]) -> Exception:
    """A driver error while reading from the destination (``what``: the stored schema, state...) as a load error."""
    original = getattr(error, "orig", None) or error
    message, _ = _message(original)
    state = sqlstate(original) or mysql_code(original)
    text = _redacted(f"{what}: {type(original).__name__}{f' [{state}]' if state else ''}: {message}", secrets)
    return TransientLoadError(text) if is_transient(error) else TerminalLoadError(text)


def _redacted(text: str, secrets: list[Secret]) -> str:
    return redact(redact_url(text), secrets)


def _driver_text(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip()


def _message(original: BaseException) -> tuple[str, str | None]:
    """The server's reason (without row values unless asked) and the column its context names."""
    diag = getattr(original, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        text = str(original).strip()
        return (text if show_row_values() else _QUOTED_VALUE.sub(rf"\g<lead>{HIDDEN}", text)), None
    context = getattr(diag, "context", None) or ""
    found = _COPY_COLUMN.search(context)
    column = found["column"].strip() if found else None
    if show_row_values():
        parts = [primary, getattr(diag, "message_detail", None), context]
        return "; ".join(p.strip() for p in parts if p), column
    data_error = (sqlstate(original) or "").startswith(_ROW_VALUE_CLASSES)
    detail = None if data_error else getattr(diag, "message_detail", None)
    primary = _QUOTED_VALUE.sub(rf"\g<lead>{HIDDEN}", primary) if data_error else primary
    return "; ".join(p.strip() for p in (primary, detail, None if data_error else context) if p), column


def show_row_values() -> bool:
    """True when the user asked for row values in load errors (``LOAD__SHOW_ROW_VALUES``)."""
    value = lookup(("load",), "show_row_values")
    return value is not NOT_FOUND and str(value).strip().lower() in ("1", "true", "yes", "on")


# what a destination cannot store: (how the driver says so, which values, what to tell the user)
_UNSTORABLE: list[tuple[Callable[[BaseException, str], bool], Callable[[pa.ChunkedArray], bool], str]] = [
    (lambda e, m: (sqlstate(e) == "22021" and "0x00" in m)  # in text; in JSON the detail names \u0000
     or (sqlstate(e) == "22P05" and "\\u0000" in (getattr(getattr(e, "diag", None), "message_detail", None) or "")),
     lambda a: pa.types.is_string(a.type) or pa.types.is_large_string(a.type),
     "PostgreSQL cannot store the NUL character (0x00) in text or JSON; {rows} row(s) hold it. Remove or "
     "replace it before loading (for example with resource.add_map)"),
    (lambda e, m: "can not be used with MySQL" in m and any(w in m for w in ("nan", "inf")),
     lambda a: pa.types.is_floating(a.type),
     "MariaDB/MySQL cannot store NaN or infinity in a double column; {rows} row(s) hold one. Replace it with "
     "None (NULL) before loading"),
]


def _load_file(package: LoadPackage, file: str | None) -> PackageFile | None:
    """The load file of ``package`` whose path is ``file``, if there is one."""
    return next((f for f in package.files if str(f.path) == file), None) if file else None


def _unstorable(original: BaseException, message: str, file: PackageFile | None,
                named: str | None) -> tuple[str, str] | None:
    """``(column, message)`` when the error is a value the destination cannot store, found in ``file``.

    The column the server ``named`` wins when it holds such a value. The file is read only after
    a load failed, so a load that succeeds pays nothing for it.
    """
    for said, holds, advice in _UNSTORABLE:
        if file and said(original, message):
            found = dict(_columns_holding(file, holds))
            column = named if named in found else next(iter(found), None)
            if column is not None:
                return column, advice.format(rows=found[column])
    return None


def _columns_holding(file: PackageFile, kind: Callable[[pa.ChunkedArray], bool]) -> list[tuple[str, int]]:
    """Columns of a load file (Parquet or Arrow) of ``kind`` holding an unstorable value, with their row counts."""
    import pyarrow.parquet as pq

    table = pq.read_table(file.path) if file.file_format == "parquet" else file.read_arrow()
    found = []
    for name in table.column_names:
        column = table.column(name)
        if not kind(column):
            continue
        if pa.types.is_floating(column.type):
            bad = pc.or_(pc.is_nan(column), pc.is_inf(column))
        else:  # the character itself, or escaped in JSON text
            bad = pc.or_(pc.match_substring(column, "\x00"), pc.match_substring(column, "\\u0000"))
        rows = pc.sum(pc.cast(pc.fill_null(bad, False), pa.int64())).as_py() or 0
        if rows:
            found.append((name, rows))
    return found
