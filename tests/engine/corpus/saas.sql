-- Corpus schema "saas": a multi-tenant project-management service (accounts, projects, issues,
-- comments, time tracking, billing) with row level security per tenant, list- and hash-partitioned
-- tables, an event log, API views and reporting. Written for pgGit's round-trip tests.

CREATE SCHEMA core;
CREATE SCHEMA billing;
CREATE SCHEMA api;
COMMENT ON SCHEMA api IS 'views the HTTP layer reads';

CREATE TYPE core.plan AS ENUM ('free', 'team', 'business', 'enterprise');
CREATE TYPE core.priority AS ENUM ('low', 'normal', 'high', 'urgent');
CREATE TYPE core.issue_state AS ENUM ('open', 'in_progress', 'review', 'done', 'wontfix');
CREATE TYPE core.geo AS (lat double precision, lon double precision);
CREATE TYPE core.workhours AS RANGE (SUBTYPE = time);
CREATE DOMAIN core.slug AS text CHECK (VALUE ~ '^[a-z0-9]+(-[a-z0-9]+)*$') CHECK (length(VALUE) <= 63);
CREATE DOMAIN core.hex_color AS char(7) DEFAULT '#000000' CHECK (VALUE ~ '^#[0-9a-f]{6}$');
CREATE DOMAIN core.positive_minutes AS integer NOT NULL CHECK (VALUE > 0);
CREATE DOMAIN billing.cents AS bigint CHECK (VALUE >= 0);

CREATE FUNCTION core.current_tenant() RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.tenant', true), '')::bigint $$;

CREATE TABLE core.tenants (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug core.slug NOT NULL UNIQUE,
    name text NOT NULL,
    plan core.plan NOT NULL DEFAULT 'free',
    location core.geo,
    support_hours core.workhours,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE core.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES core.tenants (id) ON DELETE CASCADE,
    email text NOT NULL,
    display_name text NOT NULL,
    initials text GENERATED ALWAYS AS (upper(left(display_name, 1))) STORED,
    is_admin boolean NOT NULL DEFAULT false,
    last_seen timestamptz,
    UNIQUE (tenant_id, email)
);
CREATE TABLE core.projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES core.tenants (id) ON DELETE CASCADE,
    key varchar(10) NOT NULL CHECK (key ~ '^[A-Z]+$'),
    name text NOT NULL,
    color core.hex_color,
    lead_id bigint REFERENCES core.users (id) ON DELETE SET NULL,
    archived_at timestamptz,
    UNIQUE (tenant_id, key)
);
CREATE TABLE core.issues (
    id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id bigint NOT NULL,
    project_id bigint NOT NULL,
    number integer NOT NULL,
    title text NOT NULL,
    body text,
    state core.issue_state NOT NULL DEFAULT 'open',
    priority core.priority NOT NULL DEFAULT 'normal',
    assignee_id bigint,
    estimate core.positive_minutes DEFAULT 60,
    due daterange,
    labels text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
) PARTITION BY LIST (tenant_id);
CREATE TABLE core.issues_small PARTITION OF core.issues DEFAULT PARTITION BY HASH (tenant_id);
DO $$
BEGIN
    FOR i IN 0..7 LOOP
        EXECUTE format('CREATE TABLE core.issues_small_h%s PARTITION OF core.issues_small FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
    END LOOP;
    FOR t IN 1..6 LOOP
        EXECUTE format('CREATE TABLE core.issues_t%s PARTITION OF core.issues FOR VALUES IN (%s)', t, t);
    END LOOP;
END $$;
CREATE UNIQUE INDEX issues_number_idx ON core.issues (tenant_id, project_id, number);
CREATE INDEX issues_labels_idx ON core.issues USING gin (labels);
CREATE INDEX issues_open_idx ON core.issues (tenant_id, priority) WHERE state <> 'done';
ALTER TABLE core.issues ALTER COLUMN state SET STATISTICS 1000;

CREATE TABLE core.comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    issue_id bigint NOT NULL,
    author_id bigint REFERENCES core.users (id),
    body text NOT NULL CHECK (body <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, issue_id) REFERENCES core.issues (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE core.time_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    user_id bigint NOT NULL REFERENCES core.users (id),
    issue_id bigint NOT NULL,
    spent tstzrange NOT NULL,
    minutes integer GENERATED ALWAYS AS ((extract(epoch FROM upper(spent) - lower(spent)) / 60)::integer) STORED,
    CONSTRAINT time_entries_no_overlap EXCLUDE USING gist (spent WITH &&),
    FOREIGN KEY (tenant_id, issue_id) REFERENCES core.issues (tenant_id, id)
);
CREATE TABLE core.events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id bigint NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL DEFAULT clock_timestamp()
) PARTITION BY RANGE (at);
DO $$
BEGIN
    FOR q IN 0..11 LOOP
        EXECUTE format('CREATE TABLE core.events_%s PARTITION OF core.events FOR VALUES FROM (%L) TO (%L)',
                       to_char(date '2024-01-01' + make_interval(months => 3 * q), 'YYYY"q"Q'),
                       date '2024-01-01' + make_interval(months => 3 * q),
                       date '2024-01-01' + make_interval(months => 3 * q + 3));
    END LOOP;
END $$;
CREATE INDEX events_tenant_at_idx ON core.events (tenant_id, at);
ALTER TABLE core.comments SET (autovacuum_enabled = false, fillfactor = 80);

-- tenant isolation
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'projects', 'issues', 'comments', 'time_entries', 'events'] LOOP
        EXECUTE format('ALTER TABLE core.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE core.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON core.%I USING (tenant_id = core.current_tenant()) '
                       'WITH CHECK (tenant_id = core.current_tenant())', t || '_tenant', t);
    END LOOP;
END $$;
CREATE POLICY issues_admin_read ON core.issues AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT 1 FROM core.users u WHERE u.tenant_id = issues.tenant_id AND u.is_admin));

-- functions and triggers
CREATE FUNCTION core.next_issue_number(p_tenant bigint, p_project bigint) RETURNS integer
    LANGUAGE sql VOLATILE
    AS $$ SELECT coalesce(max(number), 0) + 1 FROM core.issues WHERE tenant_id = p_tenant AND project_id = p_project $$;
CREATE FUNCTION core.issue_number() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.number IS NULL THEN
        NEW.number := core.next_issue_number(NEW.tenant_id, NEW.project_id);
    END IF;
    RETURN NEW;
END
$$;
CREATE FUNCTION core.log_event() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO core.events (tenant_id, kind, payload)
    VALUES (NEW.tenant_id, TG_TABLE_NAME || '.' || lower(TG_OP), to_jsonb(NEW));
    RETURN NEW;
END
$$;
CREATE TRIGGER issues_number BEFORE INSERT ON core.issues FOR EACH ROW EXECUTE FUNCTION core.issue_number();
CREATE TRIGGER issues_log AFTER INSERT OR UPDATE ON core.issues FOR EACH ROW EXECUTE FUNCTION core.log_event();
CREATE TRIGGER comments_log AFTER INSERT ON core.comments FOR EACH ROW EXECUTE FUNCTION core.log_event();
CREATE CONSTRAINT TRIGGER time_entries_check AFTER INSERT ON core.time_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION core.log_event();
CREATE FUNCTION core.priority_weight(p core.priority) RETURNS integer
    LANGUAGE sql IMMUTABLE
    RETURN array_position(enum_range(NULL::core.priority), p);
CREATE FUNCTION core.priority_gt(a core.priority, b core.priority) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT core.priority_weight(a) > core.priority_weight(b) $$;
CREATE OPERATOR core.>>> (LEFTARG = core.priority, RIGHTARG = core.priority, FUNCTION = core.priority_gt);
CREATE FUNCTION core.geo_text(g core.geo) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT format('%s,%s', g.lat, g.lon) $$;
CREATE CAST (core.geo AS text) WITH FUNCTION core.geo_text(core.geo) AS IMPLICIT;
CREATE FUNCTION core.geo_neg(g core.geo) RETURNS core.geo
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT ROW(-g.lat, -g.lon)::core.geo $$;
CREATE OPERATOR core.- (RIGHTARG = core.geo, FUNCTION = core.geo_neg);
CREATE RULE events_no_update AS ON UPDATE TO core.events DO INSTEAD NOTHING;

-- billing
CREATE TABLE billing.prices (
    plan core.plan PRIMARY KEY,
    monthly billing.cents NOT NULL,
    yearly billing.cents NOT NULL,
    CHECK (yearly <= monthly * 12)
);
CREATE TABLE billing.invoices (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES core.tenants (id),
    period daterange NOT NULL,
    amount billing.cents NOT NULL,
    paid_at timestamptz,
    EXCLUDE USING gist (period WITH &&) WHERE (paid_at IS NULL)
);
CREATE TABLE billing.invoice_lines (
    invoice_id bigint NOT NULL REFERENCES billing.invoices (id) ON DELETE CASCADE,
    n smallint NOT NULL,
    description text NOT NULL,
    amount billing.cents NOT NULL,
    PRIMARY KEY (invoice_id, n)
);
CREATE STATISTICS billing.invoices_tenant_period ON tenant_id, amount FROM billing.invoices;
CREATE FUNCTION billing.invoice_total(p_invoice bigint) RETURNS bigint
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT sum(amount) FROM billing.invoice_lines WHERE invoice_id = p_invoice;
    END;
CREATE MATERIALIZED VIEW billing.revenue_by_plan AS
    SELECT t.plan, count(i.id) AS invoices, sum(i.amount) AS amount
      FROM billing.invoices i JOIN core.tenants t ON t.id = i.tenant_id GROUP BY t.plan
    WITH NO DATA;

-- API views (one per resource, versioned)
CREATE VIEW api.issues_v1 AS
    SELECT i.tenant_id, i.id, p.key || '-' || i.number AS ref, i.title, i.state, i.priority,
           u.display_name AS assignee, core.priority_weight(i.priority) AS weight
      FROM core.issues i JOIN core.projects p ON p.id = i.project_id
      LEFT JOIN core.users u ON u.id = i.assignee_id;
CREATE VIEW api.issues_v2 AS SELECT * FROM api.issues_v1 WHERE state <> 'wontfix';
CREATE VIEW api.urgent AS SELECT * FROM api.issues_v2 WHERE priority OPERATOR(core.>>>) 'high'::core.priority
    WITH LOCAL CHECK OPTION;
CREATE VIEW api.projects_v1 AS SELECT id, tenant_id, key, name, color FROM core.projects WHERE archived_at IS NULL;
ALTER VIEW api.projects_v1 ALTER COLUMN color SET DEFAULT '#336699';

-- integrations: many small tables of the same shape, as real services accumulate
DO $$
DECLARE
    provider text;
BEGIN
    FOREACH provider IN ARRAY ARRAY['github', 'gitlab', 'bitbucket', 'slack', 'teams', 'discord', 'jira',
                                    'trello', 'asana', 'linear', 'notion', 'confluence', 'zendesk',
                                    'intercom', 'hubspot', 'salesforce', 'stripe', 'paddle', 'sentry',
                                    'datadog', 'pagerduty', 'opsgenie', 'figma', 'miro', 'google', 'okta',
                                    'auth0', 'azure_ad', 'aws', 'gcp']
    LOOP
        EXECUTE format($f$
            CREATE TABLE core.%1$I (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant_id bigint NOT NULL REFERENCES core.tenants (id) ON DELETE CASCADE,
                external_id text NOT NULL,
                token bytea,
                settings jsonb NOT NULL DEFAULT '{}',
                enabled boolean NOT NULL DEFAULT true,
                synced_at timestamptz,
                CONSTRAINT %2$I UNIQUE (tenant_id, external_id)
            )$f$, 'int_' || provider, 'int_' || provider || '_external_key');
        EXECUTE format('CREATE INDEX %1$I ON core.%2$I (synced_at) WHERE enabled', 'int_' || provider || '_sync_idx',
                       'int_' || provider);
        EXECUTE format('COMMENT ON TABLE core.%1$I IS %2$L', 'int_' || provider, provider || ' integration');
        EXECUTE format('COMMENT ON COLUMN core.%1$I.token IS %2$L', 'int_' || provider, 'encrypted');
        EXECUTE format('CREATE VIEW api.%1$I AS SELECT id, tenant_id, external_id, enabled FROM core.%2$I',
                       provider || '_v1', 'int_' || provider);
        EXECUTE format('ALTER TABLE core.%1$I ENABLE ROW LEVEL SECURITY', 'int_' || provider);
        EXECUTE format('CREATE POLICY %1$I ON core.%2$I USING (tenant_id = core.current_tenant())',
                       'int_' || provider || '_tenant', 'int_' || provider);
    END LOOP;
END $$;

-- Privileges (the roles pggit_test_app_reader and pggit_test_app_writer are created by the tests)
GRANT USAGE ON SCHEMA api TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA api TO pggit_test_app_reader;
GRANT USAGE ON SCHEMA core, billing TO pggit_test_app_writer;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER ON core.issues TO pggit_test_app_writer;
GRANT SELECT (id, tenant_id, display_name), UPDATE (display_name) ON core.users TO pggit_test_app_reader;
GRANT SELECT ON billing.revenue_by_plan TO pggit_test_app_reader WITH GRANT OPTION;
REVOKE EXECUTE ON FUNCTION billing.invoice_total(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.current_tenant() TO pggit_test_app_reader, pggit_test_app_writer;
REVOKE USAGE ON TYPE core.plan FROM PUBLIC;
GRANT USAGE ON TYPE core.plan TO pggit_test_app_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA api GRANT SELECT ON TABLES TO pggit_test_app_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT USAGE ON TYPES TO pggit_test_app_writer;
