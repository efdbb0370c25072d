"""The suite's own hands on the database, through an engine the admin never uses.

It seeds rows before a check, makes changes "from another connection", and reads back what
the admin wrote. Its connections are not in the app's pool, so pool counts stay the app's.
Core SQL only, so it runs the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .backends import Models


@dataclass(frozen=True)
class Database:
    engine: sa.engine.Engine
    models: Models

    @classmethod
    def connect(cls, database_url: str, models: Models) -> Database:
        return cls(engine=sa.create_engine(database_url), models=models)

    @property
    def authors_table(self) -> sa.Table:
        return self.models.metadata.tables["author"]

    @property
    def posts_table(self) -> sa.Table:
        return self.models.metadata.tables["post"]

    def create_tables(self) -> None:
        self.models.metadata.create_all(self.engine)

    def drop_tables(self) -> None:
        self.models.metadata.drop_all(self.engine)
        self.engine.dispose()

    def empty_tables(self) -> None:
        """Delete every row, children first; cheaper than re-creating tables per check."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.posts_table))
            conn.execute(sa.delete(self.authors_table))

    def add_author(self, name: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(sa.insert(self.authors_table).values(name=name))
            return int(result.inserted_primary_key[0])

    def add_post(self, title: str, author_id: int) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(self.posts_table).values(title=title, author_id=author_id)
            )
            return int(result.inserted_primary_key[0])

    def rename_author(self, old: str, new: str) -> None:
        table = self.authors_table
        with self.engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.name == old).values(name=new))

    def author_names(self) -> list[str]:
        table = self.authors_table
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(table.c.name)).scalars())

    def author_ids(self) -> dict[str, int]:
        table = self.authors_table
        with self.engine.connect() as conn:
            return {name: id_ for id_, name in conn.execute(sa.select(table.c.id, table.c.name))}

    def posts(self) -> list[tuple[int, str, int]]:
        """Every post as (id, title, author id)."""
        table = self.posts_table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.title, table.c.author_id))
            return [(int(i), str(t), int(a)) for i, t, a in rows]

    def idle_in_transaction(self) -> int | None:
        """Server connections to this database left ``idle in transaction``; None off a server.

        Only a real server can show this: a session held across requests keeps its
        transaction open, and with it locks and a pooled connection. The observer's own
        connection is left out (it is the one asking).
        """
        if self.engine.dialect.name != "postgresql":
            return None
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'idle in transaction'"
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
