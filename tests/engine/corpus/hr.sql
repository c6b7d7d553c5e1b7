-- Corpus schema "hr": human resources and payroll (organisation chart, employees with
-- inheritance for contractor kinds, contracts, leave, payroll runs per year partition, documents
-- with full text search). Written for pgGit's round-trip tests.

CREATE SCHEMA hr;
CREATE SCHEMA payroll;

CREATE COLLATION hr.names_c (provider = libc, locale = 'C');
CREATE TYPE hr.contract_kind AS ENUM ('permanent', 'fixed_term', 'internship', 'freelance');
CREATE TYPE hr.leave_kind AS ENUM ('vacation', 'sick', 'parental', 'unpaid', 'training');
CREATE TYPE hr.salary AS (amount numeric(12,2), currency char(3));
CREATE TYPE hr.period AS RANGE (SUBTYPE = date);
CREATE DOMAIN hr.iban AS text CHECK (VALUE ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$');
CREATE DOMAIN hr.phone AS text CHECK (VALUE ~ '^\+?[0-9 ]{6,20}$');
CREATE DOMAIN hr.fte AS numeric(3,2) DEFAULT 1.00 CHECK (VALUE > 0 AND VALUE <= 1);
CREATE TEXT SEARCH DICTIONARY hr.simple_nostop (TEMPLATE = pg_catalog.simple, stopwords = 'english');
CREATE TEXT SEARCH CONFIGURATION hr.documents (PARSER = pg_catalog.default);
ALTER TEXT SEARCH CONFIGURATION hr.documents ADD MAPPING FOR asciiword, word, numword WITH hr.simple_nostop;
ALTER TEXT SEARCH CONFIGURATION hr.documents ADD MAPPING FOR email, url, host WITH simple;

CREATE TABLE hr.departments (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id integer REFERENCES hr.departments (id),
    code varchar(12) COLLATE hr.names_c NOT NULL UNIQUE,
    name text NOT NULL,
    cost_center integer NOT NULL CHECK (cost_center BETWEEN 1000 AND 9999)
);
CREATE TABLE hr.people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_name text COLLATE hr.names_c NOT NULL,
    given_name text NOT NULL,
    full_name text GENERATED ALWAYS AS (given_name || ' ' || family_name) STORED,
    phone hr.phone,
    born date CHECK (born > '1900-01-01'),
    department_id integer REFERENCES hr.departments (id)
);
ALTER TABLE hr.people ALTER COLUMN family_name SET STATISTICS 200;
CREATE TABLE hr.employees (
    employee_no integer NOT NULL UNIQUE,
    iban hr.iban,
    manager_id bigint,
    fte hr.fte
) INHERITS (hr.people);
CREATE TABLE hr.contractors (
    agency text NOT NULL,
    day_rate numeric(10,2) NOT NULL CHECK (day_rate > 0)
) INHERITS (hr.people);
CREATE TABLE hr.interns (
    school text,
    mentor_id bigint
) INHERITS (hr.employees);
CREATE INDEX employees_manager_idx ON hr.employees (manager_id);
CREATE INDEX people_name_idx ON hr.people (family_name, given_name);
CREATE STATISTICS hr.people_dept_born (mcv) ON department_id, born FROM hr.people;
ALTER STATISTICS hr.people_dept_born SET STATISTICS 500;

CREATE TABLE hr.contracts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL,
    kind hr.contract_kind NOT NULL,
    valid hr.period NOT NULL,
    salary hr.salary NOT NULL,
    signed boolean NOT NULL DEFAULT false,
    EXCLUDE USING gist (valid WITH &&) WHERE (signed)
);
CREATE TABLE hr.leave_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL,
    kind hr.leave_kind NOT NULL,
    days daterange NOT NULL CHECK (NOT isempty(days)),
    approved_by bigint,
    note text
);
CREATE TABLE hr.documents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('hr.documents'::regconfig, title || ' ' || body)) STORED
);
ALTER TABLE hr.documents ALTER COLUMN body SET STORAGE MAIN;
CREATE INDEX documents_search_idx ON hr.documents USING gin (search);
ALTER TABLE hr.documents REPLICA IDENTITY FULL;

CREATE TABLE payroll.runs (
    id bigint GENERATED ALWAYS AS IDENTITY,
    year smallint NOT NULL,
    month smallint NOT NULL CHECK (month BETWEEN 1 AND 12),
    closed boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id, year)
) PARTITION BY LIST (year);
CREATE TABLE payroll.payslips (
    run_id bigint NOT NULL,
    year smallint NOT NULL,
    person_id bigint NOT NULL,
    gross numeric(12,2) NOT NULL,
    tax numeric(12,2) NOT NULL,
    net numeric(12,2) GENERATED ALWAYS AS (gross - tax) STORED,
    PRIMARY KEY (run_id, year, person_id),
    FOREIGN KEY (run_id, year) REFERENCES payroll.runs (id, year)
) PARTITION BY LIST (year);
DO $$
BEGIN
    FOR y IN 2015..2030 LOOP
        EXECUTE format('CREATE TABLE payroll.runs_%s PARTITION OF payroll.runs FOR VALUES IN (%s)', y, y);
        EXECUTE format('CREATE TABLE payroll.payslips_%s PARTITION OF payroll.payslips FOR VALUES IN (%s)', y, y);
        EXECUTE format('COMMENT ON TABLE payroll.payslips_%s IS %L', y, 'payslips of ' || y);
    END LOOP;
END $$;
CREATE INDEX payslips_person_idx ON payroll.payslips (person_id);

CREATE FUNCTION hr.headcount(p_department integer) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM hr.employees WHERE department_id = p_department $$;
CREATE FUNCTION hr.reports_to(p_person bigint) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$
    WITH RECURSIVE chain(id) AS (
        SELECT manager_id FROM hr.employees WHERE id = p_person
        UNION SELECT e.manager_id FROM hr.employees e JOIN chain c ON e.id = c.id WHERE e.manager_id IS NOT NULL)
    SELECT id FROM chain WHERE id IS NOT NULL
$$;
CREATE FUNCTION hr.check_leave() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.approved_by = NEW.person_id THEN
        RAISE EXCEPTION 'nobody approves their own leave';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER leave_requests_check BEFORE INSERT OR UPDATE ON hr.leave_requests
    FOR EACH ROW EXECUTE FUNCTION hr.check_leave();
CREATE FUNCTION payroll.close_run() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.closed THEN
        RAISE EXCEPTION 'payroll run % is closed', OLD.id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER runs_closed BEFORE UPDATE ON payroll.runs FOR EACH ROW EXECUTE FUNCTION payroll.close_run();
CREATE FUNCTION hr.salary_amount(s hr.salary) RETURNS numeric
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT s.amount $$;
CREATE CAST (hr.salary AS numeric) WITH FUNCTION hr.salary_amount(hr.salary) AS ASSIGNMENT;
CREATE FUNCTION hr.salary_lt(a hr.salary, b hr.salary) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT a.currency = b.currency AND a.amount < b.amount $$;
CREATE FUNCTION hr.salary_gt(a hr.salary, b hr.salary) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT a.currency = b.currency AND a.amount > b.amount $$;
CREATE OPERATOR hr.<< (LEFTARG = hr.salary, RIGHTARG = hr.salary, FUNCTION = hr.salary_lt,
                       COMMUTATOR = OPERATOR(hr.>>), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR hr.>> (LEFTARG = hr.salary, RIGHTARG = hr.salary, FUNCTION = hr.salary_gt,
                       COMMUTATOR = OPERATOR(hr.<<), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR hr.<< (hr.salary, hr.salary) IS 'earns less (same currency)';
CREATE RULE documents_protect AS ON DELETE TO hr.documents DO INSTEAD NOTHING;

CREATE VIEW hr.org_chart AS
    SELECT d.code, d.name, hr.headcount(d.id) AS headcount, p.code AS parent
      FROM hr.departments d LEFT JOIN hr.departments p ON p.id = d.parent_id;
CREATE VIEW hr.current_contracts AS
    SELECT c.person_id, c.kind, c.salary, upper(c.valid) AS ends
      FROM hr.contracts c WHERE c.valid @> current_date AND c.signed;
CREATE MATERIALIZED VIEW payroll.yearly AS
    SELECT year, person_id, sum(gross) AS gross, sum(tax) AS tax FROM payroll.payslips GROUP BY 1, 2
    WITH NO DATA;
CREATE INDEX yearly_person_idx ON payroll.yearly (person_id, year);

-- per-country payroll rules: a table, a function and a view each
DO $$
DECLARE
    c text;
BEGIN
    FOREACH c IN ARRAY ARRAY['de', 'fr', 'nl', 'be', 'at', 'ch', 'it', 'es', 'pt', 'pl', 'cz', 'se', 'dk',
                             'no', 'fi', 'ie', 'uk', 'us', 'ca', 'au', 'jp', 'kr', 'sg', 'in', 'br', 'mx',
                             'ar', 'cl', 'za', 'nz', 'lu', 'gr', 'hu', 'ro', 'sk', 'si', 'hr', 'ee', 'lv', 'lt']
    LOOP
        EXECUTE format($f$
            CREATE TABLE payroll.%1$I (
                id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                band numrange NOT NULL,
                rate numeric(5,4) NOT NULL CHECK (rate BETWEEN 0 AND 1),
                valid daterange NOT NULL DEFAULT daterange(current_date, NULL),
                EXCLUDE USING gist (band WITH &&, valid WITH &&)
            )$f$, 'tax_' || c);
        EXECUTE format($f$
            CREATE FUNCTION payroll.%1$I(p_gross numeric) RETURNS numeric
                LANGUAGE sql STABLE
                AS $b$ SELECT coalesce(max(rate), 0) * p_gross FROM payroll.%2$I WHERE band @> p_gross $b$
            $f$, 'tax_' || c || '_of', 'tax_' || c);
        EXECUTE format('CREATE VIEW payroll.%1$I AS SELECT band, rate FROM payroll.%2$I WHERE valid @> current_date',
                       'tax_' || c || '_current', 'tax_' || c);
        EXECUTE format('COMMENT ON TABLE payroll.%1$I IS %2$L', 'tax_' || c, 'income tax bands, ' || upper(c));
    END LOOP;
END $$;

-- Privileges (the roles pggit_test_app_reader and pggit_test_app_writer are created by the tests)
GRANT USAGE ON SCHEMA hr TO pggit_test_app_reader;
GRANT SELECT ON hr.org_chart, hr.current_contracts TO pggit_test_app_reader;
GRANT SELECT (id, given_name, family_name) ON hr.people TO PUBLIC;
GRANT SELECT, INSERT, UPDATE ON hr.leave_requests TO pggit_test_app_writer;
REVOKE ALL ON SCHEMA payroll FROM PUBLIC;
GRANT USAGE ON SCHEMA payroll TO pggit_test_app_writer WITH GRANT OPTION;
GRANT SELECT ON payroll.yearly TO pggit_test_app_writer;
REVOKE EXECUTE ON FUNCTION hr.headcount(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hr.headcount(integer) TO pggit_test_app_reader;
REVOKE USAGE ON DOMAIN hr.iban FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA hr GRANT EXECUTE ON FUNCTIONS TO pggit_test_app_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA payroll GRANT SELECT, INSERT ON TABLES TO pggit_test_app_writer;
