-- The demo shop's operational database (`flowlake up` makes it, as its owner `shop`; `flowlake generate --cdc`
-- changes it). Every table the cdc job captures has its primary key and REPLICA IDENTITY FULL: the WAL then
-- carries the whole old row of an update or delete, which the job needs (a default identity carries the key
-- only, and the job fails on the first update).
CREATE TABLE IF NOT EXISTS customers (
  user_id    text PRIMARY KEY,
  email      text NOT NULL,
  full_name  text NOT NULL,
  phone      text,
  country    char(2),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS products (
  sku        text PRIMARY KEY,
  title      text NOT NULL,
  category   text NOT NULL,
  price      numeric(12, 2) NOT NULL,
  stock      integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS order_status (
  order_id   text PRIMARY KEY,
  user_id    text NOT NULL,
  status     text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE customers REPLICA IDENTITY FULL;
ALTER TABLE products REPLICA IDENTITY FULL;
ALTER TABLE order_status REPLICA IDENTITY FULL;
