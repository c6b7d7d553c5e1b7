-- Expected canonical definitions of objects of tests/engine/catalog_fixture.sql, checked by
-- tests/engine/test_catalog.py::test_exact_definition. Each block starts with a line
-- "-- key: <object key>" and holds the definition exactly (no trailing newline inside);
-- "-- key@<major>: <object key>" gives the text of servers of that major version and later.

-- key: comment:column:app.customers.email
COMMENT ON COLUMN app.customers.email IS 'login';

-- key: comment:column:app.pair.b
COMMENT ON COLUMN app.pair.b IS 'second';

-- key: comment:constraint:app.customers.customers_age_check
COMMENT ON CONSTRAINT customers_age_check ON app.customers IS 'sane ages';

-- key: comment:domain:app.code
COMMENT ON DOMAIN app.code IS 'a code';

-- key: comment:function:app.add(integer,integer)
COMMENT ON FUNCTION app.add(a integer, b integer) IS 'adds';

-- key: comment:function:app.int_sum(integer)
COMMENT ON AGGREGATE app.int_sum(integer) IS 'sums';

-- key: comment:function:app.reset_counter(integer)
COMMENT ON PROCEDURE app.reset_counter(IN v integer) IS 'resets';

-- key: comment:index:app.customers.customers_lower_name_idx
COMMENT ON INDEX app.customers_lower_name_idx /* on app.customers */ IS 'by name';

-- key: comment:materialized_view:app.order_totals
COMMENT ON MATERIALIZED VIEW app.order_totals IS 'totals';

-- key: comment:policy:app.customers.own_rows
COMMENT ON POLICY own_rows ON app.customers IS 'only own';

-- key: comment:schema:app
COMMENT ON SCHEMA app IS 'application schema';

-- key: comment:sequence:app.counter
COMMENT ON SEQUENCE app.counter IS 'counts';

-- key: comment:table:app.customers
COMMENT ON TABLE app.customers IS 'Customers; it''s "quoted"';

-- key: comment:trigger:app.customers.customers_touch
COMMENT ON TRIGGER customers_touch ON app.customers IS 'touches';

-- key: comment:type:app.mood
COMMENT ON TYPE app.mood IS 'how it feels';

-- key: comment:view:app.big_orders
COMMENT ON VIEW app.big_orders IS 'big ones';

-- key: constraint:app.customers.customers_age_check
ALTER TABLE app.customers ADD CONSTRAINT customers_age_check CHECK (((age)::integer < 200));

-- key: constraint:app.customers.customers_email_key
ALTER TABLE app.customers ADD CONSTRAINT customers_email_key UNIQUE (email);

-- key: constraint:app.customers.customers_pkey
ALTER TABLE app.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

-- key: constraint:app.events.events_pkey
ALTER TABLE app.events ADD CONSTRAINT events_pkey PRIMARY KEY (id, at);

-- key: constraint:app.orders.orders_customer_id_fkey
ALTER TABLE app.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE CASCADE;

-- key: constraint:app.orders.orders_no_overlap
ALTER TABLE app.orders ADD CONSTRAINT orders_no_overlap EXCLUDE USING gist (customer_id WITH =, during WITH &&);

-- key: domain:app.code
CREATE DOMAIN app.code AS text COLLATE "C"
    CONSTRAINT code_len CHECK ((length(VALUE) < 10))
    CONSTRAINT code_up CHECK ((VALUE = upper(VALUE)));

-- key: domain:app.posint
CREATE DOMAIN app.posint AS integer DEFAULT 1 NOT NULL
    CONSTRAINT posint_check CHECK ((VALUE > 0));

-- key: function:app.add(integer,integer)
CREATE OR REPLACE FUNCTION app.add(a integer, b integer DEFAULT 1)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$ SELECT a + b $function$;

-- key: function:app.int_sum(integer)
CREATE AGGREGATE app.int_sum(integer) (
    SFUNC = app.int_sum_sfunc,
    STYPE = bigint,
    INITCOND = '0',
    PARALLEL = SAFE
);

-- key: function:app.reset_counter(integer)
CREATE OR REPLACE PROCEDURE app.reset_counter(IN v integer)
 LANGUAGE plpgsql
AS $procedure$ BEGIN PERFORM setval('app.counter', v); END $procedure$;

-- key: index:app.customers.customers_lower_name_idx
CREATE INDEX customers_lower_name_idx ON app.customers USING btree (lower(name)) WHERE (created_at > '2020-01-01 00:00:00+00'::timestamp with time zone);

-- key: index:app.events.events_payload_idx
CREATE INDEX events_payload_idx ON app.events USING gin (payload);

-- key: index:app.order_totals.order_totals_customer_idx
CREATE UNIQUE INDEX order_totals_customer_idx ON app.order_totals USING btree (customer_id);

-- key: materialized_view:app.order_totals
CREATE MATERIALIZED VIEW app.order_totals AS
 SELECT orders.customer_id,
    sum(orders.amount) AS total
   FROM app.orders
  GROUP BY orders.customer_id;

-- key@16: materialized_view:app.order_totals
CREATE MATERIALIZED VIEW app.order_totals AS
 SELECT customer_id,
    sum(amount) AS total
   FROM app.orders
  GROUP BY customer_id;

-- key: policy:app.customers.ins
CREATE POLICY ins ON app.customers AS PERMISSIVE FOR INSERT TO PUBLIC WITH CHECK ((score > 0));

-- key: policy:app.customers.own_rows
CREATE POLICY own_rows ON app.customers AS RESTRICTIVE FOR SELECT TO pggit_cat_reader USING (((email)::text = (CURRENT_USER)::text));

-- key: schema:Mixed Case
CREATE SCHEMA "Mixed Case";

-- key: schema:app
CREATE SCHEMA app;

-- key: sequence:app.counter
CREATE SEQUENCE app.counter AS integer INCREMENT BY 5 MINVALUE 10 MAXVALUE 1000 START WITH 20 CACHE 3 CYCLE;

-- key: sequence:app.plain
CREATE UNLOGGED SEQUENCE app.plain AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1 NO CYCLE;

-- key: table:Mixed Case.Odd Table
CREATE TABLE "Mixed Case"."Odd Table" (
    "Col A" integer,
    "select" text
);

-- key: table:app.child
CREATE TABLE app.child (
    extra boolean
)
INHERITS (app.base);

-- key: table:app.customers
CREATE TABLE app.customers (
    id integer GENERATED ALWAYS AS IDENTITY NOT NULL,
    email public.citext NOT NULL,
    name text COLLATE "C" DEFAULT 'anon'::text NOT NULL,
    mood app.mood DEFAULT 'ok'::app.mood,
    moods app.mood[],
    age app.posint,
    code app.code,
    score integer DEFAULT app.add(1, 2),
    name_len integer GENERATED ALWAYS AS (length(name)) STORED,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone
)
WITH (autovacuum_enabled=false, fillfactor=80);
ALTER TABLE app.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.customers FORCE ROW LEVEL SECURITY;

-- key: table:app.events
CREATE TABLE app.events (
    id bigint NOT NULL,
    at date NOT NULL,
    payload jsonb
)
PARTITION BY RANGE (at);

-- key: table:app.events_2024
CREATE TABLE app.events_2024 PARTITION OF app.events
FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

-- key: table:app.events_other
CREATE TABLE app.events_other PARTITION OF app.events
DEFAULT;

-- key: table:app.orders
CREATE TABLE app.orders (
    id bigint DEFAULT nextval('app.orders_id_seq'::regclass) NOT NULL,
    customer_id integer NOT NULL,
    amount numeric(12,2) NOT NULL,
    seq_no integer GENERATED BY DEFAULT AS IDENTITY (INCREMENT BY 10 START WITH 100) NOT NULL,
    pair app.pair,
    during tstzrange
);
ALTER SEQUENCE app.orders_id_seq OWNED BY app.orders.id;

-- key: table:app.scratch
CREATE UNLOGGED TABLE app.scratch (
    k text,
    v integer DEFAULT nextval('app.counter'::regclass)
);

-- key: trigger:app.big_orders.big_orders_ins
CREATE TRIGGER big_orders_ins INSTEAD OF INSERT ON app.big_orders FOR EACH ROW EXECUTE FUNCTION app.big_orders_ins();

-- key: trigger:app.customers.customers_touch
CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers FOR EACH ROW EXECUTE FUNCTION app.touch();

-- key: type:app.floatrange
CREATE TYPE app.floatrange AS RANGE (
    SUBTYPE = double precision,
    SUBTYPE_OPCLASS = float8_ops,
    SUBTYPE_DIFF = float8mi,
    MULTIRANGE_TYPE_NAME = app.floatmultirange
);

-- key: type:app.mood
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');

-- key: type:app.pair
CREATE TYPE app.pair AS (
    a integer,
    b text COLLATE "C"
);

-- key: view:app.big_orders
CREATE VIEW app.big_orders WITH (security_barrier=true) AS
 SELECT o.id,
    c.email,
    app.add(o.customer_id, 1) AS x
   FROM (app.orders o
     JOIN app.customers c ON ((c.id = o.customer_id)))
  WHERE (o.amount > (100)::numeric);
