-- The migration plan reaches plan_order as rows (parallel arrays) and plan_script takes the
-- statements in step order (engine/diff/diff.sql): the earlier signatures, taking the plan as one
-- JSON value, are not replaced by CREATE OR REPLACE (a new signature is a new function). Nothing
-- calls them; this drops them from databases that still have them.
DROP FUNCTION IF EXISTS pggit.plan_order(jsonb);
DROP FUNCTION IF EXISTS pggit.plan_script(text, text, jsonb);
