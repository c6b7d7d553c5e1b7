-- Corpus schema "rentals": a holiday-rental and room-booking platform in the style of a real
-- application (sites and their bookable units, availability as time ranges that must not overlap,
-- a booking ledger partitioned by quarter and by channel, search, guest messaging, payouts).
-- Written for pgGit's round-trip tests (tests/engine/test_corpus.py); several hundred objects.
-- It uses what the other corpus schemas do not: extensions in their own schema (btree_gist,
-- citext, pg_trgm), exclusion constraints mixing equality and overlap, sub-partitions, foreign
-- keys to a partitioned table, MATCH FULL and NOT VALID constraints, transition tables, enum
-- values added later, SQL-standard function bodies, quoted mixed-case names.
-- Everything in it can be created by an ordinary role that may create schemas in the database
-- (the extensions are trusted ones).

CREATE SCHEMA ext;
CREATE EXTENSION btree_gist WITH SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE EXTENSION pg_trgm WITH SCHEMA ext;
COMMENT ON SCHEMA ext IS 'extensions the application uses';

CREATE SCHEMA rentals;
CREATE SCHEMA "Ledger";
COMMENT ON SCHEMA rentals IS 'sites, units, guests and bookings';
COMMENT ON SCHEMA "Ledger" IS 'money: charges, payouts (mixed-case name kept from the legacy system)';

-- types
CREATE TYPE rentals.booking_state AS ENUM ('requested', 'confirmed', 'checked_in', 'checked_out', 'cancelled');
ALTER TYPE rentals.booking_state ADD VALUE 'no_show' AFTER 'checked_out';
ALTER TYPE rentals.booking_state ADD VALUE 'pending_payment' BEFORE 'confirmed';
CREATE TYPE rentals.channel AS ENUM ('direct', 'partner', 'phone');
CREATE TYPE rentals.unit_kind AS ENUM ('room', 'apartment', 'house', 'pitch');
CREATE TYPE rentals.geo_point AS (lat double precision, lon double precision);
CREATE TYPE rentals.opening_hours AS (opens time, closes time, days smallint[]);
CREATE TYPE rentals.floatrange AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi);
CREATE DOMAIN rentals.email AS ext.citext
    CONSTRAINT email_shape CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+$');
CREATE DOMAIN rentals.country_code AS char(2) COLLATE "C" NOT NULL
    CONSTRAINT country_upper CHECK (VALUE ~ '^[A-Z]{2}$');
CREATE DOMAIN rentals.nightly_price AS numeric(10,2) DEFAULT 0
    CONSTRAINT price_not_negative CHECK (VALUE >= 0)
    CONSTRAINT price_sane CHECK (VALUE < 100000);
CREATE DOMAIN rentals.guest_count AS smallint CHECK (VALUE BETWEEN 1 AND 40);
COMMENT ON TYPE rentals.booking_state IS 'life cycle of a booking';
COMMENT ON TYPE rentals.geo_point IS 'WGS84 coordinates';
COMMENT ON DOMAIN rentals.email IS 'case-insensitive e-mail address';

-- search
CREATE TEXT SEARCH CONFIGURATION rentals.listing_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION rentals.listing_search
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH english_stem;
COMMENT ON TEXT SEARCH CONFIGURATION rentals.listing_search IS 'stemmed words, numbers kept as they are';

-- functions used by columns, constraints and triggers
CREATE FUNCTION rentals.slugify(title text, max_length integer DEFAULT 60) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN left(trim(BOTH '-' FROM regexp_replace(lower(title), '[^a-z0-9]+', '-', 'g')), max_length);
CREATE FUNCTION rentals.nights(stay daterange) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT upper(stay) - lower(stay);
END;
CREATE FUNCTION rentals.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END $$;
COMMENT ON FUNCTION rentals.slugify(text, integer) IS 'URL-safe form of a title';

-- sites and units
CREATE TABLE rentals.sites (
    id integer GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 10 CACHE 5) PRIMARY KEY,
    title text NOT NULL,
    slug text GENERATED ALWAYS AS (rentals.slugify(title)) STORED,
    country rentals.country_code,
    city text COLLATE "C" NOT NULL,
    location rentals.geo_point,
    hours rentals.opening_hours,
    contact rentals.email,
    tags text[] NOT NULL DEFAULT '{}',
    description text,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('rentals.listing_search', coalesce(title, '')), 'A')
        || to_tsvector('rentals.listing_search', coalesce(description, ''))) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sites_slug_key UNIQUE NULLS NOT DISTINCT (country, slug)
) WITH (fillfactor = 90);
CREATE INDEX sites_search_idx ON rentals.sites USING gin (search);
CREATE INDEX sites_title_trgm_idx ON rentals.sites USING gin (title ext.gin_trgm_ops);
CREATE INDEX sites_city_idx ON rentals.sites (country, city COLLATE "C" DESC NULLS FIRST) INCLUDE (title);
CREATE INDEX sites_tags_idx ON rentals.sites USING gin (tags array_ops) WITH (fastupdate = off);
ALTER TABLE rentals.sites ALTER COLUMN description SET STORAGE EXTERNAL;
ALTER TABLE rentals.sites ALTER COLUMN city SET STATISTICS 500;
CREATE TRIGGER sites_touch BEFORE UPDATE ON rentals.sites
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.description IS DISTINCT FROM NEW.description) EXECUTE FUNCTION rentals.touch_updated_at();
COMMENT ON TABLE rentals.sites IS 'a place with bookable units';
COMMENT ON COLUMN rentals.sites.slug IS 'derived from the title';
COMMENT ON INDEX rentals.sites_title_trgm_idx IS 'fuzzy title search';
COMMENT ON TRIGGER sites_touch ON rentals.sites IS 'keeps updated_at current';

CREATE TABLE rentals.units (
    id bigint GENERATED BY DEFAULT AS IDENTITY (MINVALUE 1 MAXVALUE 9000000000 CYCLE) PRIMARY KEY,
    site_id integer NOT NULL,
    code varchar(12) COLLATE "C" NOT NULL,
    kind rentals.unit_kind NOT NULL DEFAULT 'room',
    sleeps rentals.guest_count NOT NULL,
    base_price rentals.nightly_price NOT NULL,
    area_m2 numeric(6,1) CHECK (area_m2 > 0),
    floor smallint,
    features jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT units_site_fk FOREIGN KEY (site_id) REFERENCES rentals.sites (id)
        ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT units_code_key UNIQUE (site_id, code) DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX units_features_idx ON rentals.units USING gin (features jsonb_path_ops);
CREATE INDEX units_cheap_idx ON rentals.units (base_price) WHERE kind IN ('room', 'pitch');
CREATE INDEX units_lower_code_idx ON rentals.units (lower(code::text));
CREATE TRIGGER units_touch BEFORE UPDATE OF base_price, sleeps, features ON rentals.units
    FOR EACH ROW EXECUTE FUNCTION rentals.touch_updated_at();
COMMENT ON TABLE rentals.units IS 'something a guest can book: a room, a flat, a pitch';
COMMENT ON CONSTRAINT units_code_key ON rentals.units IS 'codes are unique per site';

CREATE TABLE rentals."UnitPhotos" (
    "unitId" bigint NOT NULL REFERENCES rentals.units (id) ON DELETE CASCADE,
    "sortOrder" smallint NOT NULL DEFAULT 0,
    "Caption" text,
    url text NOT NULL CHECK (url ~ '^https://'),
    PRIMARY KEY ("unitId", "sortOrder")
);
COMMENT ON TABLE rentals."UnitPhotos" IS 'photos of a unit, in display order';
COMMENT ON COLUMN rentals."UnitPhotos"."Caption" IS 'shown under the photo';

-- guests
CREATE TABLE rentals.guests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email rentals.email NOT NULL UNIQUE,
    full_name text NOT NULL,
    country rentals.country_code,
    phone text,
    marketing_opt_in boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guests_name_trgm_idx ON rentals.guests USING gist (full_name ext.gist_trgm_ops(siglen = 64));
COMMENT ON COLUMN rentals.guests.marketing_opt_in IS 'explicit consent only';

CREATE SEQUENCE rentals.booking_ref_seq AS integer START WITH 10000 INCREMENT BY 7 NO CYCLE;

-- availability: blocks of a unit must not overlap (btree_gist for the equality on unit_id)
CREATE TABLE rentals.availability_blocks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id bigint NOT NULL REFERENCES rentals.units (id) ON DELETE CASCADE,
    during tstzrange NOT NULL CHECK (NOT isempty(during)),
    reason text NOT NULL DEFAULT 'maintenance',
    CONSTRAINT availability_no_overlap EXCLUDE USING gist (unit_id WITH =, during WITH &&)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX availability_during_idx ON rentals.availability_blocks USING gist (during) INCLUDE (reason);
COMMENT ON CONSTRAINT availability_no_overlap ON rentals.availability_blocks IS 'one block at a time per unit';

-- bookings: partitioned by the stay's start (quarters), each quarter by channel
CREATE TABLE rentals.bookings (
    id bigint NOT NULL DEFAULT nextval('rentals.booking_ref_seq'),
    starts_on date NOT NULL,
    channel rentals.channel NOT NULL DEFAULT 'direct',
    unit_id bigint NOT NULL,
    guest_id uuid NOT NULL,
    stay daterange NOT NULL,
    guests rentals.guest_count NOT NULL DEFAULT 1,
    state rentals.booking_state NOT NULL DEFAULT 'requested',
    price numeric(12,2) NOT NULL,
    nights integer GENERATED ALWAYS AS (rentals.nights(stay)) STORED,
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bookings_pkey PRIMARY KEY (id, starts_on, channel),
    CONSTRAINT bookings_start_matches CHECK (lower(stay) = starts_on),
    CONSTRAINT bookings_unit_fk FOREIGN KEY (unit_id) REFERENCES rentals.units (id) ON DELETE RESTRICT,
    CONSTRAINT bookings_guest_fk FOREIGN KEY (guest_id) REFERENCES rentals.guests (id)
        ON DELETE NO ACTION DEFERRABLE INITIALLY DEFERRED
) PARTITION BY RANGE (starts_on);
ALTER SEQUENCE rentals.booking_ref_seq OWNED BY rentals.bookings.id;
CREATE INDEX bookings_unit_stay_idx ON rentals.bookings USING gist (unit_id, stay);
CREATE INDEX bookings_guest_idx ON rentals.bookings (guest_id, starts_on DESC);
CREATE INDEX bookings_open_idx ON rentals.bookings (state) WHERE state = 'requested';
COMMENT ON TABLE rentals.bookings IS 'every booking; partitioned by quarter, then by channel';
COMMENT ON COLUMN rentals.bookings.nights IS 'computed from the stay';
DO $$
DECLARE
    q date;
    name text;
BEGIN
    FOR i IN 0..7 LOOP
        q := date '2025-01-01' + make_interval(months => 3 * i);
        name := 'bookings_' || to_char(q, 'YYYY') || 'q' || extract(quarter FROM q);
        EXECUTE format('CREATE TABLE rentals.%I PARTITION OF rentals.bookings FOR VALUES FROM (%L) TO (%L) PARTITION BY LIST (channel)',
                       name, q, q + interval '3 months');
        EXECUTE format('CREATE TABLE rentals.%I PARTITION OF rentals.%I FOR VALUES IN (%L)', name || '_direct', name, 'direct');
        EXECUTE format('CREATE TABLE rentals.%I PARTITION OF rentals.%I FOR VALUES IN (%L, %L)', name || '_other', name, 'partner', 'phone');
        EXECUTE format('COMMENT ON TABLE rentals.%I IS %L', name, 'bookings starting in ' || to_char(q, 'YYYY "Q"Q'));
    END LOOP;
END $$;
CREATE TABLE rentals.bookings_later PARTITION OF rentals.bookings DEFAULT;
CREATE INDEX bookings_2025q1_direct_note_idx ON rentals.bookings_2025q1_direct (note) WHERE note IS NOT NULL;
ALTER TABLE rentals.bookings_2025q1_direct SET (autovacuum_vacuum_scale_factor = 0.05);

-- a booking's events: foreign key to the partitioned table, MATCH FULL
CREATE TABLE rentals.booking_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    booking_id bigint,
    starts_on date,
    channel rentals.channel,
    at timestamptz NOT NULL DEFAULT now(),
    what text NOT NULL,
    detail jsonb,
    PRIMARY KEY (id),
    CONSTRAINT booking_events_booking_fk FOREIGN KEY (booking_id, starts_on, channel)
        REFERENCES rentals.bookings (id, starts_on, channel) MATCH FULL ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX booking_events_booking_idx ON rentals.booking_events (booking_id, at);

-- reviews: a NOT VALID check and foreign key (legacy rows predate them)
CREATE TABLE rentals.reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id bigint,
    guest_id uuid,
    stars smallint NOT NULL,
    body text,
    published boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE rentals.reviews ADD CONSTRAINT reviews_stars_range CHECK (stars BETWEEN 1 AND 5) NOT VALID;
ALTER TABLE rentals.reviews ADD CONSTRAINT reviews_unit_fk FOREIGN KEY (unit_id)
    REFERENCES rentals.units (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE rentals.reviews ADD CONSTRAINT reviews_guest_fk FOREIGN KEY (guest_id)
    REFERENCES rentals.guests (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX reviews_one_per_guest_idx ON rentals.reviews (unit_id, guest_id) WHERE published;

-- messages: threads between guests and hosts, with a recursive view over replies
CREATE TABLE rentals.messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    in_reply_to bigint REFERENCES rentals.messages (id) ON DELETE SET NULL,
    guest_id uuid NOT NULL REFERENCES rentals.guests (id) ON DELETE CASCADE,
    body text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    CHECK (read_at IS NULL OR read_at >= sent_at)
);
CREATE INDEX messages_unread_idx ON rentals.messages (guest_id) WHERE read_at IS NULL;
CREATE RECURSIVE VIEW rentals.message_threads (root_id, id, depth) AS
    SELECT m.id, m.id, 0 FROM rentals.messages m WHERE m.in_reply_to IS NULL
    UNION ALL
    SELECT t.root_id, m.id, t.depth + 1 FROM rentals.messages m JOIN message_threads t ON m.in_reply_to = t.id;
COMMENT ON VIEW rentals.message_threads IS 'every message with the thread it belongs to';

-- the ledger (quoted schema), hash-partitioned charges, row level security
CREATE TABLE "Ledger"."Charges" (
    id bigint GENERATED ALWAYS AS IDENTITY,
    "bookingId" bigint NOT NULL,
    site_id integer NOT NULL,
    amount numeric(12,2) NOT NULL,
    currency char(3) NOT NULL DEFAULT 'EUR',
    "chargedAt" timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, site_id)
) PARTITION BY HASH (site_id);
DO $$
BEGIN
    FOR r IN 0..3 LOOP
        EXECUTE format('CREATE TABLE "Ledger".%I PARTITION OF "Ledger"."Charges" FOR VALUES WITH (MODULUS 4, REMAINDER %s)',
                       'Charges_p' || r, r);
    END LOOP;
END $$;
CREATE INDEX "Charges_site_idx" ON "Ledger"."Charges" (site_id, "chargedAt" DESC);
CREATE TABLE "Ledger".payouts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id integer NOT NULL REFERENCES rentals.sites (id) ON UPDATE CASCADE ON DELETE RESTRICT,
    period daterange NOT NULL,
    amount numeric(12,2) NOT NULL CHECK (amount >= 0),
    paid_at timestamptz,
    owner_role name NOT NULL DEFAULT current_user,
    EXCLUDE USING gist (site_id WITH =, period WITH &&)
);
ALTER TABLE "Ledger".payouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Ledger".payouts FORCE ROW LEVEL SECURITY;
CREATE POLICY payouts_owner ON "Ledger".payouts AS PERMISSIVE FOR ALL TO PUBLIC
    USING (owner_role = current_user) WITH CHECK (owner_role = current_user);
CREATE POLICY payouts_readers ON "Ledger".payouts FOR SELECT TO pggit_test_app_reader USING (paid_at IS NOT NULL);
CREATE POLICY payouts_unpaid_only ON "Ledger".payouts AS RESTRICTIVE FOR UPDATE TO pggit_test_app_writer
    USING (paid_at IS NULL);
COMMENT ON POLICY payouts_readers ON "Ledger".payouts IS 'readers see paid payouts only';
ALTER TABLE rentals.guests ENABLE ROW LEVEL SECURITY;
CREATE POLICY guests_self ON rentals.guests FOR SELECT USING (email = current_setting('rentals.guest_email', true));

-- functions and procedures
CREATE FUNCTION rentals.is_free(p_unit bigint, p_stay daterange, OUT free boolean, OUT clashes integer)
    LANGUAGE sql STABLE AS $$
    SELECT count(*) = 0, count(*)::integer FROM rentals.bookings b
    WHERE b.unit_id = p_unit AND b.stay && p_stay AND b.state <> 'cancelled'
$$;
CREATE FUNCTION rentals.quote(p_unit bigint, p_stay daterange, p_discount numeric DEFAULT 0)
    RETURNS TABLE (night date, price numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, rentals AS $$
BEGIN
    RETURN QUERY
        SELECT d::date, round(u.base_price * (1 - p_discount), 2)
        FROM rentals.units u, generate_series(lower(p_stay), upper(p_stay) - 1, interval '1 day') d
        WHERE u.id = p_unit;
END $$;
CREATE PROCEDURE rentals.confirm_booking(IN p_id bigint, INOUT p_state rentals.booking_state DEFAULT NULL)
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rentals.bookings SET state = 'confirmed' WHERE id = p_id AND state = 'requested'
    RETURNING state INTO p_state;
END $$;
CREATE FUNCTION rentals.check_capacity() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.guests > (SELECT sleeps FROM rentals.units WHERE id = NEW.unit_id) THEN
        RAISE EXCEPTION 'unit % sleeps fewer than % guests', NEW.unit_id, NEW.guests;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION rentals.log_new_bookings() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rentals.booking_events (booking_id, starts_on, channel, what)
    SELECT n.id, n.starts_on, n.channel, 'created' FROM new_rows n;
    RETURN NULL;
END $$;
CREATE FUNCTION "Ledger"."chargeTotal"(site integer, since timestamptz DEFAULT '-infinity') RETURNS numeric
    LANGUAGE sql STABLE PARALLEL RESTRICTED COST 50
    SET work_mem = '8MB'
    RETURN (SELECT coalesce(sum(amount), 0) FROM "Ledger"."Charges" WHERE site_id = site AND "chargedAt" >= since);
COMMENT ON FUNCTION rentals.quote(bigint, daterange, numeric) IS 'one row per night';
COMMENT ON PROCEDURE rentals.confirm_booking(bigint, rentals.booking_state) IS 'requested → confirmed';
CREATE CONSTRAINT TRIGGER bookings_capacity AFTER INSERT OR UPDATE OF guests, unit_id ON rentals.bookings_2025q1_direct
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rentals.check_capacity();
CREATE TRIGGER bookings_log AFTER INSERT ON rentals.guests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rentals.touch_updated_at();
DROP TRIGGER bookings_log ON rentals.guests;
CREATE TRIGGER booking_events_log AFTER INSERT ON rentals.booking_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rentals.log_new_bookings();
CREATE TRIGGER bookings_row_touch AFTER UPDATE ON rentals.bookings
    FOR EACH ROW WHEN (NEW.state IS DISTINCT FROM OLD.state) EXECUTE FUNCTION rentals.check_capacity();

-- views
CREATE VIEW rentals.public_units WITH (security_barrier = true) AS
    SELECT u.id, u.code, u.kind, u.sleeps, u.base_price, s.title AS site, s.city
    FROM rentals.units u JOIN rentals.sites s ON s.id = u.site_id
    WHERE u.kind <> 'pitch';
CREATE VIEW rentals.rooms AS
    SELECT id, site_id, code, sleeps, base_price FROM rentals.units WHERE kind = 'room'
    WITH CASCADED CHECK OPTION;
CREATE VIEW rentals.cheap_rooms AS
    SELECT * FROM rentals.rooms WHERE base_price < 80
    WITH LOCAL CHECK OPTION;
CREATE VIEW rentals.my_payouts WITH (security_invoker = true) AS
    SELECT id, site_id, period, amount FROM "Ledger".payouts;
CREATE MATERIALIZED VIEW rentals.occupancy_by_month AS
    SELECT b.unit_id, date_trunc('month', b.starts_on)::date AS month, sum(b.nights) AS nights, count(*) AS bookings
    FROM rentals.bookings b WHERE b.state <> 'cancelled'
    GROUP BY 1, 2;
CREATE UNIQUE INDEX occupancy_by_month_key ON rentals.occupancy_by_month (unit_id, month);
CREATE INDEX occupancy_by_month_month_idx ON rentals.occupancy_by_month (month) WITH (fillfactor = 100);
COMMENT ON MATERIALIZED VIEW rentals.occupancy_by_month IS 'refreshed nightly';
COMMENT ON COLUMN rentals.public_units.site IS 'the site''s title';

-- amenities: one small table per amenity family, each with its index, trigger, comment and policy
DO $$
DECLARE
    family text;
BEGIN
    FOREACH family IN ARRAY ARRAY['kitchen', 'bathroom', 'outdoor', 'parking', 'accessibility', 'family', 'wellness',
                                  'workspace', 'entertainment', 'safety', 'pets', 'laundry',
                                  'garden', 'heating', 'transport', 'view']
    LOOP
        EXECUTE format($f$
            CREATE TABLE rentals.%1$I (
                unit_id bigint NOT NULL REFERENCES rentals.units (id) ON DELETE CASCADE,
                item text COLLATE "C" NOT NULL,
                quantity smallint NOT NULL DEFAULT 1 CHECK (quantity > 0),
                notes text,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (unit_id, item)
            )$f$, 'amenity_' || family);
        EXECUTE format('CREATE INDEX %1$I ON rentals.%2$I USING gin (item ext.gin_trgm_ops)', 'amenity_' || family || '_item_trgm', 'amenity_' || family);
        EXECUTE format('CREATE TRIGGER %1$I BEFORE UPDATE ON rentals.%2$I FOR EACH ROW EXECUTE FUNCTION rentals.touch_updated_at()',
                       'amenity_' || family || '_touch', 'amenity_' || family);
        EXECUTE format('COMMENT ON TABLE rentals.%I IS %L', 'amenity_' || family, family || ' amenities of a unit');
        EXECUTE format('ALTER TABLE rentals.%I ENABLE ROW LEVEL SECURITY', 'amenity_' || family);
        EXECUTE format('CREATE POLICY %I ON rentals.%I FOR SELECT TO pggit_test_app_reader USING (true)', family || '_read', 'amenity_' || family);
    END LOOP;
END $$;

-- Privileges (the roles pggit_test_app_reader and pggit_test_app_writer are created by the tests)
GRANT USAGE ON SCHEMA rentals, ext TO pggit_test_app_reader, pggit_test_app_writer;
GRANT USAGE ON SCHEMA "Ledger" TO pggit_test_app_writer;
GRANT SELECT ON rentals.public_units, rentals.rooms, rentals.occupancy_by_month TO pggit_test_app_reader;
GRANT SELECT, INSERT, UPDATE ON rentals.bookings, rentals.guests, rentals.booking_events TO pggit_test_app_writer;
GRANT SELECT (id, title, city, country), UPDATE (description) ON rentals.sites TO pggit_test_app_writer;
GRANT SELECT, UPDATE ("Caption") ON rentals."UnitPhotos" TO pggit_test_app_writer WITH GRANT OPTION;
GRANT SELECT, INSERT ON "Ledger"."Charges", "Ledger".payouts TO pggit_test_app_writer;
GRANT USAGE ON SEQUENCE rentals.booking_ref_seq TO pggit_test_app_writer;
REVOKE EXECUTE ON FUNCTION rentals.quote(bigint, daterange, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rentals.quote(bigint, daterange, numeric) TO pggit_test_app_reader;
GRANT EXECUTE ON PROCEDURE rentals.confirm_booking(bigint, rentals.booking_state) TO pggit_test_app_writer;
REVOKE USAGE ON TYPE rentals.channel FROM PUBLIC;
GRANT USAGE ON TYPE rentals.channel TO pggit_test_app_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA rentals GRANT SELECT ON TABLES TO pggit_test_app_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA "Ledger" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA "Ledger" GRANT EXECUTE ON FUNCTIONS TO pggit_test_app_writer;
