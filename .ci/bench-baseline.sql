-- The plain-SQL baseline of .ci/bench-scale: one straightforward query per
-- fact the snapshot needs, as an engineer would write them from the metric
-- definitions (internal/metrics/README.md) without tuning: a correlated
-- min() for each MQL's first sales touch, EXISTS for marketing influence,
-- GROUP BY for the counts. psql variables (set by bench-scale with -v):
-- period_from, period_to, prev_from, trend_from, backlog_from, as_of.
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET LOCAL jit = off;

-- Team members and campaigns.
SELECT id, name, email, team, active FROM team_members;
SELECT id, name, channel, cost FROM campaigns;

-- The MQLs of the trend window (the period and the eleven before it),
-- each with its first sales touch at or after the MQL moment.
SELECT l.id, l.mql_at, l.source, l.owner_id, l.campaign_id, l.accepted_at, l.rejected_at,
       l.rejection_reason, l.sql_at,
       (SELECT min(a.occurred_at) FROM activities a
         WHERE a.lead_id = l.id AND lower(trim(a.team)) = 'sales'
           AND a.occurred_at >= l.mql_at AND a.occurred_at <= :'as_of') AS first_sales_touch
FROM leads l
WHERE l.mql_at >= :'trend_from' AND l.mql_at < :'period_to' AND l.mql_at <= :'as_of';

-- The follow-up backlog's window: MQLs of the last 30 days.
SELECT l.id, l.mql_at, l.owner_id, l.accepted_at, l.rejected_at,
       (SELECT min(a.occurred_at) FROM activities a
         WHERE a.lead_id = l.id AND lower(trim(a.team)) = 'sales'
           AND a.occurred_at >= l.mql_at AND a.occurred_at <= :'as_of') AS first_sales_touch
FROM leads l
WHERE l.mql_at >= :'backlog_from' AND l.mql_at <= :'as_of';

-- Leads created and SQLs, in the period and the one before.
SELECT created_at, source, campaign_id FROM leads
WHERE created_at >= :'prev_from' AND created_at < :'period_to' AND created_at <= :'as_of';
SELECT count(*) FILTER (WHERE sql_at >= :'period_from'), count(*) FILTER (WHERE sql_at < :'period_from')
FROM leads WHERE sql_at >= :'prev_from' AND sql_at < :'period_to' AND sql_at <= :'as_of';

-- Opportunities created or closed in the trend window, with their lead's
-- campaign and whether marketing touched them in the 90 days before.
SELECT o.id, o.created_at, o.source, o.owner_id, o.amount, o.closed_at, o.is_won, l.campaign_id,
       EXISTS (SELECT 1 FROM activities a
                WHERE a.opportunity_id = o.id AND lower(trim(a.team)) = 'marketing'
                  AND a.occurred_at BETWEEN o.created_at - interval '90 days' AND o.created_at
                  AND a.occurred_at <= :'as_of')
    OR EXISTS (SELECT 1 FROM activities a
                WHERE o.lead_id <> '' AND a.lead_id = o.lead_id AND lower(trim(a.team)) = 'marketing'
                  AND a.occurred_at BETWEEN o.created_at - interval '90 days' AND o.created_at
                  AND a.occurred_at <= :'as_of') AS influenced
FROM opportunities o
LEFT JOIN leads l ON l.id = o.lead_id
WHERE (o.created_at >= :'trend_from' AND o.created_at < :'period_to' AND o.created_at <= :'as_of')
   OR (o.closed_at >= :'trend_from' AND o.closed_at < :'period_to' AND o.closed_at <= :'as_of');

-- Activity counts by team and actor, in the period and the one before.
SELECT occurred_at >= :'period_from' AS in_period, team, actor_id, count(*)
FROM activities
WHERE occurred_at >= :'prev_from' AND occurred_at < :'period_to' AND occurred_at <= :'as_of'
GROUP BY 1, 2, 3;

-- Campaigns' lifetime MQLs and won revenue (for ROI).
SELECT campaign_id, count(*) FROM leads WHERE mql_at <= :'as_of' GROUP BY campaign_id;
SELECT l.campaign_id, sum(greatest(o.amount, 0))
FROM opportunities o JOIN leads l ON l.id = o.lead_id
WHERE o.is_won AND o.closed_at <= :'as_of'
GROUP BY l.campaign_id;

-- Data health.
SELECT count(*) FROM leads WHERE mql_at < created_at AND mql_at <= :'as_of';
SELECT count(*) FROM activities WHERE occurred_at > :'as_of';
SELECT count(*) FROM activities a
WHERE a.occurred_at >= :'period_from' AND a.occurred_at < :'period_to' AND a.occurred_at <= :'as_of'
  AND a.lead_id <> '' AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = a.lead_id);
SELECT max(created_at) FROM leads WHERE created_at <= :'as_of';
SELECT max(occurred_at) FROM activities WHERE occurred_at <= :'as_of';
COMMIT;
