INSERT INTO pggit.config (key, value, description) VALUES
    ('perf_baseline_window', '"7 days"',
     'Window of recorded operations a baseline is computed over (a PostgreSQL interval).'),
    ('perf_baseline_min_samples', '20',
     'Successful runs an operation type needs in the window before its baseline can raise alerts.'),
    ('perf_slow_factor', '2.0',
     'A run is slow when it takes longer than its baseline p99 times this factor.'),
    ('perf_slow_min_ms', '50',
     'Floor of the slow threshold in milliseconds (fast operations jitter; they do not alert below it).'),
    ('perf_slow_error_factor', '3.0',
     'A slow run beyond threshold times this factor is an error alert instead of a warning.'),
    ('perf_anomaly_window', '"15 minutes"',
     'Recent window whose mean duration is compared with the baseline by anomaly detection.'),
    ('perf_anomaly_min_runs', '10',
     'Runs of an operation type the recent window needs before it can be judged anomalous.'),
    ('perf_anomaly_z', '3.0',
     'z-score of the recent mean against the baseline (mean, standard error) that counts as anomalous.'),
    ('perf_anomaly_min_ratio', '1.5',
     'The recent mean must also be at least this multiple of the baseline mean to be anomalous.'),
    ('alert_resolve_after_runs', '5',
     'A slow-operation alert resolves itself after this many later runs of the operation, none slow.')
ON CONFLICT (key) DO NOTHING;

-- When each periodic job last ran (from the scheduler, psql or the API) and what it found.
CREATE TABLE IF NOT EXISTS pggit.monitoring_runs (
    job          text PRIMARY KEY,
    last_run_at  timestamptz NOT NULL,
    duration_ms  double precision NOT NULL,
    runs         bigint NOT NULL DEFAULT 1,
    result       jsonb NOT NULL DEFAULT '{}'
);

------------------------------------------------------------------------------------------------
-- Baselines
------------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS pggit.perf_baselines (
    operation     text PRIMARY KEY,
    sample_count  integer NOT NULL,
    mean_ms       double precision NOT NULL,
    stddev_ms     double precision NOT NULL,
    p50_ms        double precision NOT NULL,
    p95_ms        double precision NOT NULL,
    p99_ms        double precision NOT NULL,
    max_ms        double precision NOT NULL,
    -- NULL while sample_count is below perf_baseline_min_samples: such a baseline never alerts
    threshold_ms  double precision,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    calculated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
