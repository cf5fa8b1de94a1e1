"""The demo shop's operational database, the cdc job's source: made by `flowlake up` in the local stack's
PostgreSQL (its tables, the application's user, the replication user, the publication), and changed row by
row by `flowlake generate --cdc`, whose final state is what silver must equal."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from flowlake.config import REPO_ROOT, Settings
from flowlake.generate import COUNTRIES, FIRST_NAMES, LAST_NAMES, PRODUCTS
from flowlake.replication import connect

SCHEMA_SQL = REPO_ROOT / "sql" / "postgres" / "shop.sql"
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_database(connect: Callable[[str], Any], settings: Settings) -> None:
    """As the cluster's superuser (`connect(database)`): the shop's owner and the replication user (their
    passwords follow the settings), the shop database and its tables, the publication of the captured
    tables. Idempotent: `flowlake up` runs it at every start."""
    s = settings
    shop, cdc = _identifier(s.shop_user), _identifier(s.cdc_user)
    conn = connect("postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for role, options, password in ((s.shop_user, "NOREPLICATION", s.shop_secret()),
                                        (s.cdc_user, "REPLICATION", s.cdc_secret())):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(f"{verb} ROLE {_identifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE {options} "
                        "PASSWORD %s", (password,))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (s.cdc_database,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {_identifier(s.cdc_database)} OWNER {shop}")
        cur.execute(f"REVOKE ALL ON DATABASE {_identifier(s.cdc_database)} FROM PUBLIC")
        cur.execute(f"GRANT CONNECT ON DATABASE {_identifier(s.cdc_database)} TO {cdc}")
    conn.close()
    conn = connect(s.cdc_database)
    conn.autocommit = True
    tables = ", ".join(_identifier(t) for t in s.cdc_table_list)
    with conn.cursor() as cur:
        cur.execute(f"SET ROLE {shop}")  # the tables belong to the application, not to the superuser
        cur.execute(SCHEMA_SQL.read_text())
        cur.execute("RESET ROLE")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {cdc}")
        cur.execute(f"GRANT SELECT ON {tables} TO {cdc}")
        # Made here by the owner: the replication user may read a publication but not make one.
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (s.cdc_publication,))
        verb = "ALTER PUBLICATION {} SET" if cur.fetchone() else "CREATE PUBLICATION {} FOR"
        cur.execute(f"{verb.format(_identifier(s.cdc_publication))} TABLE {tables}")
    conn.close()


@dataclass
class ShopChanges:
    """Random changes of the shop's tables: customers sign up, change their email or phone and leave;
    products change price and stock; orders move through their statuses. Each change its own transaction,
    as an application makes them."""

    rng: random.Random

    def __post_init__(self) -> None:
        self.customers: list[str] = []
        self.orders: list[str] = []
        self.next_customer = 1
        self.next_order = 1

    def load(self, cur: Any) -> None:
        cur.execute("SELECT user_id FROM customers ORDER BY user_id")
        self.customers = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT order_id FROM order_status ORDER BY order_id")
        self.orders = [row[0] for row in cur.fetchall()]
        # New ids above every id in use.
        cur.execute("SELECT coalesce(max(substr(user_id, 2)::int), 0) FROM customers WHERE user_id ~ '^U[0-9]{5}$'")
        self.next_customer = max(self.next_customer, cur.fetchone()[0] + 1)
        cur.execute("SELECT coalesce(max(substr(order_id, 5)::int), 0) FROM order_status")
        self.next_order = max(self.next_order, cur.fetchone()[0] + 1)

    def _new_customer(self, cur: Any) -> None:
        number = self.next_customer
        self.next_customer += 1
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        user_id = f"U{number:05d}"  # the events' user ids: the same customers (silver.orders joins them)
        cur.execute("INSERT INTO customers (user_id, email, full_name, phone, country) VALUES (%s, %s, %s, %s, %s)",
                    (user_id, f"customer{number}@example.com", f"{first} {last}",
                     f"+4917{self.rng.randrange(10**8, 10**9)}", self.rng.choice(COUNTRIES)))
        self.customers.append(user_id)

    def _new_order(self, cur: Any) -> None:
        order_id = f"ORD-{self.next_order:08d}"
        self.next_order += 1
        cur.execute("INSERT INTO order_status (order_id, user_id, status) VALUES (%s, %s, 'placed')",
                    (order_id, self.rng.choice(self.customers)))
        self.orders.append(order_id)

    def seed_products(self, cur: Any) -> None:
        for sku, title, category, price in PRODUCTS:
            cur.execute("INSERT INTO products (sku, title, category, price, stock) VALUES (%s, %s, %s, %s, 100) "
                        "ON CONFLICT (sku) DO NOTHING", (sku, title, category, Decimal(str(price))))

    def change(self, cur: Any) -> str:
        """One change; returns what it was (insert, update, delete)."""
        roll = self.rng.random()
        if len(self.customers) < 5 or roll < 0.25:
            self._new_customer(cur)
            return "insert"
        if roll < 0.40:
            self._new_order(cur)
            return "insert"
        if roll < 0.55:
            cur.execute("UPDATE customers SET email = %s, updated_at = now() WHERE user_id = %s",
                        (f"new{self.rng.randrange(10**6)}@example.org", self.rng.choice(self.customers)))
            return "update"
        if roll < 0.65:
            cur.execute("UPDATE customers SET phone = %s, updated_at = now() WHERE user_id = %s",
                        (f"+3361{self.rng.randrange(10**7, 10**8)}", self.rng.choice(self.customers)))
            return "update"
        if roll < 0.80 and self.orders:
            cur.execute("UPDATE order_status SET status = %s, updated_at = now() WHERE order_id = %s",
                        (self.rng.choice(STATUSES[1:]), self.rng.choice(self.orders)))
            return "update"
        if roll < 0.90:
            cur.execute("UPDATE products SET price = round((price * %s)::numeric, 2), stock = %s, updated_at = now() "
                        "WHERE sku = %s", (Decimal(str(self.rng.choice((0.9, 1.05, 1.1)))), self.rng.randrange(0, 500),
                                           self.rng.choice(PRODUCTS)[0]))
            return "update"
        if roll < 0.95 and self.orders:
            order_id = self.orders.pop(self.rng.randrange(len(self.orders)))
            cur.execute("DELETE FROM order_status WHERE order_id = %s", (order_id,))
            return "delete"
        user_id = self.customers.pop(self.rng.randrange(len(self.customers)))
        # The customer leaves with their orders.
        cur.execute("DELETE FROM order_status WHERE user_id = %s RETURNING order_id", (user_id,))
        gone = {row[0] for row in cur.fetchall()}
        self.orders = [order for order in self.orders if order not in gone]
        cur.execute("DELETE FROM customers WHERE user_id = %s", (user_id,))
        return "delete"


def generate_changes(settings: Settings, count: int, rate: float | None = None, seed: int | None = None,
                     progress: bool = True, stop: threading.Event | None = None) -> dict[str, int]:
    """`count` changes of the shop database, at most `rate` per second (fewer if `stop` is set first); returns
    how many of each kind."""
    conn = connect(settings)
    done = {"insert": 0, "update": 0, "delete": 0}
    changes = ShopChanges(random.Random(seed))
    started = time.monotonic()
    with Progress(TextColumn("[bold]shop changes"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not progress) as bar:
        task = bar.add_task("changes", total=count)
        with conn.cursor() as cur:
            changes.load(cur)
            changes.seed_products(cur)
            conn.commit()
            for i in range(count):
                if stop is not None and stop.is_set():
                    break
                done[changes.change(cur)] += 1
                conn.commit()
                bar.advance(task)
                if rate:
                    ahead = (i + 1) / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
    conn.close()
    return done


def current_rows(settings: Settings, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """A captured table's rows now, in the order of its primary key (the reference silver must equal)."""
    conn = connect(settings)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(_identifier(c) for c in columns)} FROM {_identifier(table)} ORDER BY 1")
        rows: list[tuple[Any, ...]] = cur.fetchall()
    conn.close()
    return rows
