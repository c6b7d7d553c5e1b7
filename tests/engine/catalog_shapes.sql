-- Index shapes for the catalog's fast path (test_catalog.py): the plain btree indexes whose
-- definitions the catalog writes itself, and every nearby shape that it must leave to
-- pg_get_indexdef. Names that need quoting, keywords, other schemas, collations, operator classes,
-- expressions, predicates, INCLUDE, options, ordering.
CREATE SCHEMA shapes;
CREATE SCHEMA "Other Schema";
CREATE TYPE shapes.mood AS ENUM ('sad', 'happy');
CREATE DOMAIN shapes.posint AS integer CHECK (VALUE > 0);

CREATE TABLE shapes.t (
    id bigserial PRIMARY KEY,
    small smallserial,
    medium serial,
    dropped_before integer,
    v text,
    "Mixed" text COLLATE "C",
    "select" integer,
    "with space" varchar(20),
    "quote""d" numeric,
    ts timestamptz DEFAULT now(),
    flag boolean DEFAULT true,
    u uuid,
    arr integer[],
    m shapes.mood,
    p shapes.posint,
    pt point,
    bx box
);
ALTER TABLE shapes.t DROP COLUMN dropped_before;

CREATE INDEX t_v ON shapes.t (v);
CREATE INDEX "T Mixed Idx" ON shapes.t ("Mixed");
CREATE INDEX "select" ON shapes.t ("select", v);
CREATE UNIQUE INDEX t_unique ON shapes.t (u);
CREATE UNIQUE INDEX t_unique_multi ON shapes.t (ts, flag, "quote""d");
CREATE INDEX t_space ON shapes.t ("with space");
CREATE INDEX t_desc ON shapes.t (v DESC);
CREATE INDEX t_desc_nulls_last ON shapes.t (v DESC NULLS LAST);
CREATE INDEX t_nulls_first ON shapes.t (v NULLS FIRST);
CREATE INDEX t_expr ON shapes.t (lower(v));
CREATE INDEX t_expr_mixed ON shapes.t (v, (u::text));
CREATE INDEX t_partial ON shapes.t (v) WHERE flag;
CREATE INDEX t_include ON shapes.t (v) INCLUDE (ts);
CREATE INDEX t_options ON shapes.t (v) WITH (fillfactor = 70);
CREATE INDEX t_pattern ON shapes.t (v text_pattern_ops);
CREATE INDEX t_collate ON shapes.t (v COLLATE "C");
CREATE INDEX t_collate_same ON shapes.t ("Mixed" COLLATE "C");
CREATE INDEX t_collate_other ON shapes.t ("Mixed" COLLATE "POSIX");
CREATE INDEX t_array ON shapes.t (arr);
CREATE INDEX t_enum ON shapes.t (m);
CREATE INDEX t_domain ON shapes.t (p);
CREATE INDEX t_hash ON shapes.t USING hash (v);
CREATE INDEX t_gist ON shapes.t USING gist (bx);
CREATE INDEX t_brin ON shapes.t USING brin (ts);
CREATE INDEX t_numeric ON shapes.t ("quote""d");
CREATE INDEX t_stats ON shapes.t ((v || 'x'));
ALTER INDEX shapes.t_stats ALTER COLUMN 1 SET STATISTICS 500;
CREATE UNIQUE INDEX t_nulls_not_distinct ON shapes.t (small) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX t_replident ON shapes.t (medium);
ALTER TABLE shapes.t ALTER COLUMN medium SET NOT NULL;
ALTER TABLE shapes.t REPLICA IDENTITY USING INDEX t_replident;

CREATE TABLE "Other Schema"."Quoted Table" ("Key" integer, "Value" text, "order" int);
CREATE INDEX "Quoted Idx" ON "Other Schema"."Quoted Table" ("Key", "Value", "order");
CREATE INDEX "idx ""with"" quotes" ON "Other Schema"."Quoted Table" ("Value");
CREATE INDEX "UPPER" ON "Other Schema"."Quoted Table" ("order" DESC);

CREATE TABLE shapes.parted (k integer, v text) PARTITION BY RANGE (k);
CREATE TABLE shapes.parted_1 PARTITION OF shapes.parted FOR VALUES FROM (0) TO (10);
CREATE INDEX parted_v ON shapes.parted (v);
CREATE INDEX parted_1_k ON shapes.parted_1 (k);

CREATE MATERIALIZED VIEW shapes.mv AS SELECT id, v FROM shapes.t;
CREATE INDEX mv_v ON shapes.mv (v);

CREATE TABLE public.serials (id serial PRIMARY KEY, v text);
CREATE INDEX serials_v ON public.serials (v, id);
