-- The fact queries of one snapshot. Each returns raw rows or small
-- aggregates; internal/metrics applies every definition of METRICS.md.
-- {{relation}} is replaced by the configured, validated and quoted relation
-- name; ? are bind parameters. Every time filter is a range on an indexed
-- column, and every per-lead or per-opportunity look-up of activities goes
-- through (lead_id, occurred_at) or (opportunity_id, occurred_at), so a run
-- reads what its period touches and never scans the activity table.

-- name: members
-- All team members: a few hundred rows at most.
SELECT id, name, email, team, active FROM {{team_members}} ORDER BY id;

-- name: campaigns
SELECT id, name, channel, cost FROM {{campaigns}} ORDER BY id;

-- name: lifetime-mqls
-- Per campaign, its leads MQL'd at or before as_of.
-- params: as_of
SELECT campaign_id, count(*) AS n
FROM {{leads}}
WHERE mql_at <= ? AND campaign_id IS NOT NULL
GROUP BY campaign_id;

-- name: wins
-- Every deal won at or before as_of with its lead's campaign, for lifetime
-- campaign revenue and ROI.
-- params: as_of
SELECT l.campaign_id, o.amount
FROM {{opportunities}} o
JOIN {{leads}} l ON l.id = o.lead_id
WHERE o.is_won AND o.closed_at <= ? AND l.campaign_id IS NOT NULL;

-- name: mqls
-- Leads whose MQL moment is in [from, to) and not after as_of.
-- params: from, to, as_of
SELECT id, created_at, source, campaign_id, owner_id, mql_at,
       accepted_at, rejected_at, rejection_reason, sql_at
FROM {{leads}}
WHERE mql_at >= ? AND mql_at < ? AND mql_at <= ?;

-- name: first-touches
-- For the same leads, per raw team value, the earliest activity stamped in
-- [mql_at, as_of]: the candidates for the first sales response.
-- params: as_of, from, to, as_of
SELECT a.lead_id AS ref, a.team, min(a.occurred_at) AS at
FROM {{leads}} l
JOIN {{activities}} a ON a.lead_id = l.id AND a.occurred_at >= l.mql_at AND a.occurred_at <= ?
WHERE l.mql_at >= ? AND l.mql_at < ? AND l.mql_at <= ?
GROUP BY a.lead_id, a.team;

-- name: created
-- Leads created in [from, to), not after as_of.
-- params: from, to, as_of
SELECT id, created_at, source, campaign_id
FROM {{leads}}
WHERE created_at >= ? AND created_at < ? AND created_at <= ?;

-- name: sqls
-- params: from, to, as_of
SELECT sql_at FROM {{leads}} WHERE sql_at >= ? AND sql_at < ? AND sql_at <= ?;

-- name: opportunities
-- Opportunities created or closed in [from, to), not after as_of, with the
-- campaign of their lead.
-- params: from, to, as_of, from, to, as_of
SELECT o.id, o.created_at, o.lead_id, l.campaign_id, o.source, o.owner_id,
       o.amount, o.closed_at, o.is_won
FROM {{opportunities}} o
LEFT JOIN {{leads}} l ON l.id = o.lead_id
WHERE (o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?)
   OR (o.closed_at >= ? AND o.closed_at < ? AND o.closed_at <= ?);

-- name: last-touches
-- For opportunities created in [from, to), per raw team value, the latest
-- activity linked to it (by opportunity, or by its lead) stamped at or
-- before both its creation and as_of: whether that touch is marketing's and
-- within the influence window is decided in Go.
-- params: as_of, from, to, as_of, as_of, from, to, as_of
SELECT o.id AS ref, a.team, max(a.occurred_at) AS at
FROM {{opportunities}} o
JOIN {{activities}} a ON a.opportunity_id = o.id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
GROUP BY o.id, a.team
UNION ALL
SELECT o.id AS ref, a.team, max(a.occurred_at) AS at
FROM {{opportunities}} o
JOIN {{activities}} a ON a.lead_id = o.lead_id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
  AND o.lead_id IS NOT NULL AND o.lead_id <> ''
GROUP BY o.id, a.team;

-- name: activities
-- Activity counts of the period and the one before, per raw team and actor,
-- with how many name a lead that does not exist.
-- params: period_start, previous_start, period_end, as_of
SELECT CASE WHEN a.occurred_at >= ? THEN 0 ELSE 1 END AS previous,
       a.team, a.actor_id, count(*) AS n,
       sum(CASE WHEN a.lead_id IS NOT NULL AND a.lead_id <> ''
                 AND NOT EXISTS (SELECT 1 FROM {{leads}} l WHERE l.id = a.lead_id)
            THEN 1 ELSE 0 END) AS unknown_lead
FROM {{activities}} a
WHERE a.occurred_at >= ? AND a.occurred_at < ? AND a.occurred_at <= ?
GROUP BY 1, a.team, a.actor_id;

-- name: future-activities
-- params: as_of
SELECT count(*) FROM {{activities}} WHERE occurred_at > ?;

-- name: mql-before-created
-- params: as_of
SELECT count(*) FROM {{leads}} WHERE mql_at < created_at AND mql_at <= ?;

-- name: first-touches@postgres
-- The same as first-touches. LATERAL makes PostgreSQL probe the
-- (lead_id, occurred_at) index once per MQL instead of hashing the activity
-- table, which its planner prefers for large windows but which reads every
-- activity ever logged.
-- params: as_of, from, to, as_of
SELECT l.id AS ref, t.team, t.at
FROM {{leads}} l
CROSS JOIN LATERAL (
  SELECT a.team, min(a.occurred_at) AS at
  FROM {{activities}} a
  WHERE a.lead_id = l.id AND a.occurred_at >= l.mql_at AND a.occurred_at <= ?
  GROUP BY a.team
) t
WHERE l.mql_at >= ? AND l.mql_at < ? AND l.mql_at <= ?;

-- name: last-touches@postgres
-- The same as last-touches, probing the activity indexes per opportunity.
-- params: as_of, from, to, as_of, as_of, from, to, as_of
SELECT o.id AS ref, t.team, t.at
FROM {{opportunities}} o
CROSS JOIN LATERAL (
  SELECT a.team, max(a.occurred_at) AS at
  FROM {{activities}} a
  WHERE a.opportunity_id = o.id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
  GROUP BY a.team
) t
WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
UNION ALL
SELECT o.id AS ref, t.team, t.at
FROM {{opportunities}} o
CROSS JOIN LATERAL (
  SELECT a.team, max(a.occurred_at) AS at
  FROM {{activities}} a
  WHERE a.lead_id = o.lead_id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
  GROUP BY a.team
) t
WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
  AND o.lead_id IS NOT NULL AND o.lead_id <> '';
