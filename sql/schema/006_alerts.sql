CREATE TABLE IF NOT EXISTS pggit.alert_silences (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- [{"name": "source"|"severity"|"fingerprint"|"title"|"details.<key>",
    --   "op": "="|"!="|"=~"|"!~", "value": "..."}], all must match (regexes match the whole value)
    matchers    jsonb NOT NULL,
    comment     text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT pggit.current_actor(),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    starts_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    ends_at     timestamptz NOT NULL,
    CONSTRAINT alert_silences_period CHECK (ends_at > starts_at)
);

CREATE INDEX IF NOT EXISTS alert_silences_ends_idx ON pggit.alert_silences (ends_at);

CREATE TABLE IF NOT EXISTS pggit.alerts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint      text NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 500),
    source           text NOT NULL CHECK (source ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    severity         text NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
    status           text NOT NULL DEFAULT 'firing'
                     CHECK (status IN ('firing', 'acknowledged', 'resolved', 'silenced')),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    message          text NOT NULL DEFAULT '',
    details          jsonb NOT NULL DEFAULT '{}',
    first_seen_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    occurrences      integer NOT NULL DEFAULT 1,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    note             text,
    silence_id       bigint REFERENCES pggit.alert_silences (id) ON DELETE SET NULL,
    notified_at      timestamptz  -- last alert.fired announcement; NULL: never announced
);

-- one open alert per fingerprint: this is what makes a repeat an occurrence and not a row
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_fingerprint_key
    ON pggit.alerts (fingerprint) WHERE status <> 'resolved';

CREATE INDEX IF NOT EXISTS alerts_status_idx ON pggit.alerts (status, severity);

CREATE INDEX IF NOT EXISTS alerts_last_seen_idx ON pggit.alerts (last_seen_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS pggit.alert_occurrences (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     bigint NOT NULL REFERENCES pggit.alerts (id) ON DELETE CASCADE,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    severity     text NOT NULL,
    status       text NOT NULL,       -- the alert's status right after this occurrence
    message      text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}',
    notified     boolean NOT NULL,    -- whether this occurrence was announced (alert.fired)
    silence_id   bigint
);

CREATE INDEX IF NOT EXISTS alert_occurrences_alert_idx ON pggit.alert_occurrences (alert_id, id);
