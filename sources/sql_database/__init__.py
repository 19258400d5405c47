"""The sql_database source: tables of any SQLAlchemy database, reflected, streamed in chunks, incremental in SQL.

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("sqlite://")
>>> with engine.begin() as c:
...     _ = c.exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, total NUMERIC(10, 2))")
...     _ = c.exec_driver_sql("INSERT INTO orders VALUES (1, 9.99)")
>>> [batch.to_pylist() for batch in sql_table(engine, table="orders", backend="pyarrow")]
[[{'id': 1, 'total': Decimal('9.99')}]]
"""

from sources.sql_database.arrow_build import ValueDoesNotFit
from sources.sql_database.backends import BACKENDS, ReadPlan
from sources.sql_database.column_types import ReflectionLevel
from sources.sql_database.source import sql_database, sql_table

__all__ = ["BACKENDS", "ReadPlan", "ReflectionLevel", "ValueDoesNotFit", "sql_database", "sql_table"]
