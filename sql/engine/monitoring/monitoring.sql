-- Performance monitoring on the operation log: baselines (p50/p95/p99, mean and standard
-- deviation per operation type over a window, recalculated on demand and by the scheduler),
-- detection (a slow or failed run raises an alert as it is recorded; a sustained shift of an
-- operation's recent mean raises an anomaly alert) and the monitoring trigger on
-- pggit.operations. docs/monitoring.md describes it.
-- Re-runnable: applied again by the loader whenever this file changes.

-- A numeric configuration value; a value that is not a number is a clear error.
CREATE OR REPLACE FUNCTION pggit.config_number(p_key text)
RETURNS double precision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v jsonb := pggit.config_get(p_key);
BEGIN
    IF v IS NULL OR jsonb_typeof(v) <> 'number' THEN
        PERFORM pggit.raise_error('INVALID_CONFIGURATION',
            format('configuration %s must be a number, it is %s', p_key, coalesce(v::text, 'missing')));
    END IF;
    RETURN v::text::double precision;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.config_interval(p_key text)
RETURNS interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v jsonb := pggit.config_get(p_key);
    v_interval interval;
BEGIN
    BEGIN
        v_interval := (v #>> '{}')::interval;
    EXCEPTION WHEN OTHERS THEN
        v_interval := NULL;
    END;
    IF v_interval IS NULL OR v_interval <= interval '0' THEN
        PERFORM pggit.raise_error('INVALID_CONFIGURATION',
            format('configuration %s must be a positive interval, it is %s', p_key,
                   coalesce(v::text, 'missing')));
    END IF;
    RETURN v_interval;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.monitoring_mark(p_job text, p_started timestamptz, p_result jsonb)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    INSERT INTO pggit.monitoring_runs AS r (job, last_run_at, duration_ms, result)
    VALUES (p_job, p_started, extract(epoch FROM clock_timestamp() - p_started) * 1000.0, p_result)
    ON CONFLICT (job) DO UPDATE
       SET last_run_at = excluded.last_run_at, duration_ms = excluded.duration_ms,
           runs = r.runs + 1, result = excluded.result
$$;

-- Recomputes every baseline from the successful runs of the window (default: configuration
-- perf_baseline_window); operation types without runs in the window lose their baseline.
CREATE OR REPLACE FUNCTION pggit.perf_baselines_recalculate(p_window interval DEFAULT NULL)
RETURNS SETOF pggit.perf_baselines
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_window interval := coalesce(p_window, pggit.config_interval('perf_baseline_window'));
    v_min integer := pggit.config_number('perf_baseline_min_samples')::integer;
    v_factor double precision := pggit.config_number('perf_slow_factor');
    v_floor double precision := pggit.config_number('perf_slow_min_ms');
    v_count integer;
BEGIN
    IF v_window <= interval '0' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'the baseline window must be positive');
    END IF;
    DELETE FROM pggit.perf_baselines;
    INSERT INTO pggit.perf_baselines (operation, sample_count, mean_ms, stddev_ms, p50_ms, p95_ms,
                                      p99_ms, max_ms, threshold_ms, window_start, window_end,
                                      calculated_at)
    SELECT s.operation, s.n, s.mean, s.sd, s.pct[1], s.pct[2], s.pct[3], s.max,
           CASE WHEN s.n >= v_min THEN greatest(s.pct[3] * v_factor, v_floor) END,
           v_started - v_window, v_started, v_started
      FROM (SELECT o.operation, count(*)::integer AS n, avg(o.duration_ms) AS mean,
                   coalesce(stddev_samp(o.duration_ms), 0) AS sd, max(o.duration_ms) AS max,
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY o.duration_ms) AS pct
              FROM pggit.operations o
             WHERE o.started_at >= v_started - v_window AND o.started_at <= v_started AND o.success
             GROUP BY o.operation) s;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    PERFORM pggit.monitoring_mark('baselines', v_started,
        jsonb_build_object('baselines', v_count, 'window', v_window::text));
    RETURN QUERY SELECT * FROM pggit.perf_baselines ORDER BY operation;
END;
$$;

------------------------------------------------------------------------------------------------
-- Traces
------------------------------------------------------------------------------------------------

-- Engine operations record themselves when they end, so an operation that ran inside another one
-- (a capture during a checkout) is recorded first. The transaction keeps a stack of its recorded
-- top-level spans in pggit.trace_stack, newest first ("|id@start-epoch", comma-separated), so
-- reading and popping its top costs the same however many spans the transaction recorded; a new
-- span adopts the spans on top of the stack that started at or after it did. A value this
-- function did not write (a client that set pggit.trace_stack) is dropped: the stack starts
-- afresh. The stack is cut back to its newest ~1,000 characters (~35 spans) when it passes 2,000,
-- once in a while rather than at every record; spans cut off are finished siblings that stay
-- unlinked to an enclosing span.
CREATE OR REPLACE FUNCTION pggit.trace_link(p_id bigint, p_started_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_stack text := coalesce(current_setting('pggit.trace_stack', true), '');
    v_start double precision := extract(epoch FROM p_started_at);
    v_top text;
    v_comma integer;
    v_children bigint[] := '{}';
BEGIN
    IF v_stack <> '' AND left(v_stack, 1) <> '|' THEN
        v_stack := '';  -- not a stack this function wrote: start afresh
    END IF;
    LOOP
        EXIT WHEN v_stack = '';
        v_comma := position(',' IN v_stack);
        v_top := substr(v_stack, 2, CASE WHEN v_comma = 0 THEN length(v_stack) ELSE v_comma - 2 END);
        IF v_top !~ '^[0-9]+@[0-9.]+$' THEN
            v_stack := '';
            EXIT;
        END IF;
        EXIT WHEN split_part(v_top, '@', 2)::double precision < v_start;
        v_children := v_children || split_part(v_top, '@', 1)::bigint;
        v_stack := CASE WHEN v_comma = 0 THEN '' ELSE substr(v_stack, v_comma + 1) END;
    END LOOP;
    IF cardinality(v_children) > 0 THEN
        UPDATE pggit.operations SET parent_id = p_id
         WHERE id = ANY (v_children) AND parent_id IS NULL;
    END IF;
    -- entries are "|id@epoch", newest first
    v_stack := '|' || p_id || '@' || v_start || CASE WHEN v_stack = '' THEN '' ELSE ',' || v_stack END;
    IF length(v_stack) > 2000 THEN
        v_stack := left(v_stack, 1000);
        v_stack := left(v_stack, length(v_stack) - position(',' IN reverse(v_stack)));
    END IF;
    PERFORM set_config('pggit.trace_stack', v_stack, true);
END;
$$;

-- The whole trace an operation belongs to: its root and every descendant, depth-first, with the
-- time spent in each span itself (its duration minus its children's).
CREATE OR REPLACE FUNCTION pggit.operation_trace(p_id bigint)
RETURNS TABLE (id bigint, parent_id bigint, depth integer, operation text, started_at timestamptz,
               duration_ms double precision, self_ms double precision, object_count integer,
               statement_count integer, branch text, actor text, success boolean, error text,
               details jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_root bigint;
BEGIN
    WITH RECURSIVE up AS (
        SELECT o.id, o.parent_id, 0 AS hops FROM pggit.operations o WHERE o.id = p_id
        UNION ALL
        SELECT o.id, o.parent_id, up.hops + 1 FROM pggit.operations o JOIN up ON o.id = up.parent_id
    )
    SELECT up.id INTO v_root FROM up ORDER BY up.hops DESC LIMIT 1;
    IF v_root IS NULL THEN
        PERFORM pggit.raise_error('OPERATION_NOT_FOUND', format('no recorded operation %s', p_id));
    END IF;
    RETURN QUERY
    WITH RECURSIVE tree AS (
        SELECT o.*, 0 AS depth, ARRAY[o.id] AS path FROM pggit.operations o WHERE o.id = v_root
        UNION ALL
        SELECT o.*, tree.depth + 1, tree.path || o.id
          FROM pggit.operations o JOIN tree ON o.parent_id = tree.id
    )
    SELECT t.id, t.parent_id, t.depth, t.operation, t.started_at, t.duration_ms,
           greatest(t.duration_ms - coalesce((SELECT sum(c.duration_ms) FROM pggit.operations c
                                               WHERE c.parent_id = t.id), 0), 0),
           t.object_count, t.statement_count, t.branch, t.actor, t.success, t.error, t.details
      FROM tree t
     ORDER BY t.path;
END;
$$;

------------------------------------------------------------------------------------------------
-- Detection
------------------------------------------------------------------------------------------------

-- Judges one recorded run against its baseline: a failed run or a run beyond the threshold
-- raises an alert (fingerprints operation_failed:<op> / slow_operation:<op>, so repeats group).
CREATE OR REPLACE FUNCTION pggit.perf_check_run(o pggit.operations)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    b pggit.perf_baselines;
    v_details jsonb;
BEGIN
    v_details := jsonb_build_object('operation', o.operation, 'operation_id', o.id,
        'duration_ms', round(o.duration_ms::numeric, 3), 'branch', o.branch, 'actor', o.actor);
    IF NOT o.success THEN
        PERFORM pggit.alert_raise('operation_failed:' || o.operation, 'engine', 'error',
            format('%s failed', o.operation), coalesce(o.error, 'the operation reported a failure'),
            v_details || jsonb_build_object('error', o.error));
        RETURN;
    END IF;
    SELECT * INTO b FROM pggit.perf_baselines WHERE operation = o.operation;
    IF b.threshold_ms IS NULL OR o.duration_ms <= b.threshold_ms THEN
        RETURN;
    END IF;
    PERFORM pggit.alert_raise('slow_operation:' || o.operation, 'performance',
        CASE WHEN o.duration_ms > b.threshold_ms * pggit.config_number('perf_slow_error_factor')
             THEN 'error' ELSE 'warning' END,
        format('Slow %s', o.operation),
        format('%s took %s ms; its threshold is %s ms (baseline p99 %s ms over %s runs)',
               o.operation, round(o.duration_ms::numeric, 1), round(b.threshold_ms::numeric, 1),
               round(b.p99_ms::numeric, 1), b.sample_count),
        v_details || jsonb_build_object('threshold_ms', round(b.threshold_ms::numeric, 3),
                                        'p99_ms', round(b.p99_ms::numeric, 3)));
END;
$$;

-- Rows inserted into pggit.operations otherwise than by the recording functions: linked into
-- their trace, judged, and announced to the cache (what the recording functions do inside their
-- INSERT; pg_notify sends a payload once per transaction). Monitoring never makes the engine
-- operation fail: an error raising the alert is reported as a WARNING and the operation stands.
CREATE OR REPLACE FUNCTION pggit.on_operation_recorded()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_threshold double precision;
BEGIN
    PERFORM pggit.announce_change('pggit.operations');
    IF NEW.parent_id IS NULL THEN
        PERFORM pggit.trace_link(NEW.id, NEW.started_at);
    END IF;
    IF NEW.success THEN
        SELECT b.threshold_ms INTO v_threshold FROM pggit.perf_baselines b
         WHERE b.operation = NEW.operation;
        IF v_threshold IS NULL OR NEW.duration_ms <= v_threshold THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM pggit.perf_judge(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;

-- Fires only for the rows the recording functions did not judge (WHEN (NOT NEW.judged)): a WHEN
-- on a column costs nothing to prepare, unlike one calling a function.
DROP TRIGGER IF EXISTS operations_monitor ON pggit.operations;
CREATE TRIGGER operations_monitor AFTER INSERT ON pggit.operations
    FOR EACH ROW WHEN (NOT NEW.judged) EXECUTE FUNCTION pggit.on_operation_recorded();

-- Set-based evaluation of the runs that started in [p_since, p_until): per operation type the
-- runs, failures, slow runs (beyond the threshold), the mean, and how far that mean is from the
-- baseline (z = (mean - baseline mean) / (baseline stddev / sqrt(runs))). "anomalous" needs
-- perf_anomaly_min_runs runs, z >= perf_anomaly_z and mean >= perf_anomaly_min_ratio x baseline.
CREATE OR REPLACE FUNCTION pggit.perf_evaluate(p_since timestamptz, p_until timestamptz DEFAULT NULL)
RETURNS TABLE (operation text, runs bigint, failures bigint, slow_runs bigint,
               mean_ms double precision, max_ms double precision, baseline_mean_ms double precision,
               threshold_ms double precision, z_score double precision, ratio double precision,
               anomalous boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_min_runs double precision := pggit.config_number('perf_anomaly_min_runs');
    v_z double precision := pggit.config_number('perf_anomaly_z');
    v_ratio double precision := pggit.config_number('perf_anomaly_min_ratio');
BEGIN
    IF p_since IS NULL OR (p_until IS NOT NULL AND p_until <= p_since) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'evaluation needs since < until');
    END IF;
    RETURN QUERY
    SELECT s.operation, s.runs, s.failures, s.slow_runs, s.mean, s.max, b.mean_ms, b.threshold_ms,
           z.z, s.mean / nullif(b.mean_ms, 0),
           coalesce(b.threshold_ms IS NOT NULL AND s.runs >= v_min_runs AND z.z >= v_z
                    AND s.mean >= b.mean_ms * v_ratio, false)
      FROM (SELECT o.operation, count(*) AS runs, count(*) FILTER (WHERE NOT o.success) AS failures,
                   count(*) FILTER (WHERE o.duration_ms > bt.threshold_ms) AS slow_runs,
                   avg(o.duration_ms) AS mean, max(o.duration_ms) AS max
              FROM pggit.operations o
              LEFT JOIN pggit.perf_baselines bt ON bt.operation = o.operation
             WHERE o.started_at >= p_since AND (p_until IS NULL OR o.started_at < p_until)
             GROUP BY o.operation) s
      LEFT JOIN pggit.perf_baselines b ON b.operation = s.operation
      LEFT JOIN LATERAL (SELECT (s.mean - b.mean_ms)
                                / nullif(b.stddev_ms / sqrt(s.runs::double precision), 0) AS z) z
             ON true
     ORDER BY s.operation;
END;
$$;

-- Anomaly detection over the recent window: raises perf_anomaly:<op> for each anomalous
-- operation type and resolves the anomaly alerts whose condition has cleared.
CREATE OR REPLACE FUNCTION pggit.perf_detect_anomalies()
RETURNS TABLE (operation text, runs bigint, mean_ms double precision,
               baseline_mean_ms double precision, z_score double precision, anomalous boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_window interval := pggit.config_interval('perf_anomaly_window');
    r record;
    v_found text[] := '{}';
    v_resolved integer;
BEGIN
    FOR r IN SELECT * FROM pggit.perf_evaluate(v_started - v_window) LOOP
        operation := r.operation; runs := r.runs; mean_ms := r.mean_ms;
        baseline_mean_ms := r.baseline_mean_ms; z_score := r.z_score; anomalous := r.anomalous;
        RETURN NEXT;
        CONTINUE WHEN NOT r.anomalous;
        v_found := v_found || ('perf_anomaly:' || r.operation);
        PERFORM pggit.alert_raise('perf_anomaly:' || r.operation, 'performance', 'warning',
            format('%s is anomalously slow', r.operation),
            format('the last %s runs of %s averaged %s ms against a baseline mean of %s ms (z = %s)',
                   r.runs, r.operation, round(r.mean_ms::numeric, 1),
                   round(r.baseline_mean_ms::numeric, 1), round(r.z_score::numeric, 1)),
            jsonb_build_object('operation', r.operation, 'runs', r.runs,
                               'mean_ms', round(r.mean_ms::numeric, 3),
                               'baseline_mean_ms', round(r.baseline_mean_ms::numeric, 3),
                               'z_score', round(r.z_score::numeric, 3), 'window', v_window::text));
    END LOOP;
    v_resolved := pggit.alerts_resolve_where(
        'perf_anomaly:%', v_found, 'the recent mean is back within the baseline');
    PERFORM pggit.monitoring_mark('anomalies', v_started,
        jsonb_build_object('anomalous', cardinality(v_found), 'resolved', v_resolved));
END;
$$;
