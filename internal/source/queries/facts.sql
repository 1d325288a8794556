-- The fact queries of one snapshot. Each returns raw rows or small
-- aggregates; internal/metrics applies every definition of its README.md.
-- {{relation}} is replaced by the configured, validated and quoted relation
-- name; ? are bind parameters, named in order by the query's "-- params:"
-- line: the Go code binds values by those names, and a line that does not
-- name every placeholder is refused when sameteam starts. Every time filter
-- is a range on an indexed column, and every per-lead or per-opportunity
-- look-up of activities goes through (lead_id, occurred_at) or
-- (opportunity_id, occurred_at), so a run reads what its period touches and
-- never scans the activity table.

-- name: members
-- All team members: a few hundred rows at most.
SELECT id, name, email, team, active FROM {{team_members}} ORDER BY id;

-- name: campaigns
SELECT id, name, channel, cost, {{opt:campaigns.owner_id}} AS owner_id FROM {{campaigns}} ORDER BY id;

-- name: lifetime-mqls
-- Per campaign, its leads MQL'd at or before as_of: an index-only range
-- scan of (mql_at, campaign_id).
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
-- Leads whose MQL moment is in [from, to) and not after as_of, each with,
-- per raw team value, the earliest activity with its lead_id stamped in
-- [mql_at, as_of]: the candidates for the first sales response (team and
-- at are null for a lead without any). A lead's rows are adjacent (the
-- order by mql_at, id), so the engine derives its response as they arrive
-- and keeps nothing per lead it does not report.
-- params: as_of, from, to, as_of
SELECT l.id, l.created_at, l.source, l.campaign_id, l.owner_id, l.mql_at,
       l.accepted_at, l.rejected_at, l.rejection_reason, l.sql_at,
       {{opt:l.name}} AS name, {{opt:l.company}} AS company,
       a.team, min(a.occurred_at) AS at
FROM {{leads}} l
LEFT JOIN {{activities}} a ON a.lead_id = l.id AND a.occurred_at >= l.mql_at AND a.occurred_at <= ?
WHERE l.mql_at >= ? AND l.mql_at < ? AND l.mql_at <= ?
GROUP BY l.id, l.created_at, l.source, l.campaign_id, l.owner_id, l.mql_at,
         l.accepted_at, l.rejected_at, l.rejection_reason, l.sql_at,
         {{opt:l.name}}, {{opt:l.company}}, a.team
ORDER BY l.mql_at, l.id;

-- name: created
-- Leads created in [from, to), not after as_of.
-- params: from, to, as_of
SELECT created_at, source, campaign_id
FROM {{leads}}
WHERE created_at >= ? AND created_at < ? AND created_at <= ?;

-- name: sqls
-- params: from, to, as_of
SELECT sql_at FROM {{leads}} WHERE sql_at >= ? AND sql_at < ? AND sql_at <= ?;

-- name: opportunities
-- Opportunities created or closed in [from, to), not after as_of. Only
-- those created or closed from the period's start on are reported per
-- campaign, so only they carry the campaign of their lead.
-- params: period_start, period_start, from, to, as_of, from, to, as_of
SELECT o.id, o.created_at, o.lead_id, l.campaign_id, o.source, o.owner_id,
       o.amount, o.closed_at, o.is_won
FROM {{opportunities}} o
LEFT JOIN {{leads}} l ON l.id = o.lead_id AND (o.created_at >= ? OR o.closed_at >= ?)
WHERE (o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?)
   OR (o.closed_at >= ? AND o.closed_at < ? AND o.closed_at <= ?);

-- name: last-touches
-- For opportunities created in [from, to), per raw team value, the latest
-- activity linked to it (by opportunity, or by its lead) stamped at or
-- before both its creation and as_of, with the opportunity's creation
-- time and amount: whether that touch is marketing's and within the
-- influence window is decided in Go. Ordered by opportunity, so that the
-- reader keeps only the opportunity at hand, not every one of the period.
-- params: as_of, from, to, as_of, as_of, from, to, as_of
SELECT ref, created_at, amount, team, at FROM (
  SELECT o.id AS ref, o.created_at, o.amount, a.team, max(a.occurred_at) AS at
  FROM {{opportunities}} o
  JOIN {{activities}} a ON a.opportunity_id = o.id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
  WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
  GROUP BY o.id, o.created_at, o.amount, a.team
  UNION ALL
  SELECT o.id AS ref, o.created_at, o.amount, a.team, max(a.occurred_at) AS at
  FROM {{opportunities}} o
  JOIN {{activities}} a ON a.lead_id = o.lead_id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
  WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
    AND o.lead_id IS NOT NULL AND o.lead_id <> ''
  GROUP BY o.id, o.created_at, o.amount, a.team
) touches
ORDER BY ref;

-- name: activities
-- Activity counts of [from, to), not after as_of, per raw team and actor.
-- The covering index on (occurred_at, team, actor_id, lead_id) answers it
-- without reading the table.
-- params: from, to, as_of
SELECT team, actor_id, count(*) AS n
FROM {{activities}}
WHERE occurred_at >= ? AND occurred_at < ? AND occurred_at <= ?
GROUP BY team, actor_id;

-- name: unknown-lead-activities
-- Activities of [from, to), not after as_of, whose lead_id names no lead:
-- an anti-join, which the planner runs as one hash or merge join rather
-- than a look-up per activity.
-- params: from, to, as_of
SELECT count(*)
FROM {{activities}} a
WHERE a.occurred_at >= ? AND a.occurred_at < ? AND a.occurred_at <= ?
  AND a.lead_id <> ''
  AND NOT EXISTS (SELECT 1 FROM {{leads}} l WHERE l.id = a.lead_id);

-- name: future-activities
-- An index-only range scan of occurred_at: normally empty.
-- params: as_of
SELECT count(*) FROM {{activities}} WHERE occurred_at > ?;

-- name: mql-before-created
-- The partial index leads_mql_before_created holds exactly these leads.
-- params: as_of
SELECT count(*) FROM {{leads}} WHERE mql_at < created_at AND mql_at <= ?;

-- name: freshness
-- How fresh the source is: the latest lead created and the latest activity
-- at or before as_of. On tables each is one step down the end of an index
-- (leads_created_at, activities_time_cover). The activity is looked for in
-- the day before as_of, then in the quarter: on a view that unites several
-- tables (a CRM pack's), PostgreSQL cannot take max() to the end of each
-- table's index (a branch that filters deleted rows stays a subquery), but
-- it does take a time range into each branch's own time index, so a
-- source with recent activity reads the last day of each table, never the
-- whole tables. COALESCE stops at the first range that has one; a source
-- without any activity in the quarter is asked again by latest-activity.
-- params: as_of, as_of, day_before, as_of, quarter_before
SELECT (SELECT max(created_at) FROM {{leads}} WHERE created_at <= ?) AS lead_at,
       coalesce(
         (SELECT max(occurred_at) FROM {{activities}} WHERE occurred_at <= ? AND occurred_at > ?),
         (SELECT max(occurred_at) FROM {{activities}} WHERE occurred_at <= ? AND occurred_at > ?)) AS activity_at;

-- name: latest-activity
-- The latest activity at or before as_of, for a source with none in the
-- quarter before it (a sync that stopped long ago): on a view of several
-- tables this reads them whole, once, to say how stale the source is.
-- params: as_of
SELECT max(occurred_at) FROM {{activities}} WHERE occurred_at <= ?;

-- name: mqls@postgres
-- The same as mqls. LATERAL makes PostgreSQL probe the
-- (lead_id, occurred_at, team) index once per MQL instead of hashing the
-- activity table, which its planner prefers for large windows but which
-- reads every activity ever logged; the probes come out in mql_at order,
-- so the sort only orders ties.
-- params: as_of, from, to, as_of
SELECT l.id, l.created_at, l.source, l.campaign_id, l.owner_id, l.mql_at,
       l.accepted_at, l.rejected_at, l.rejection_reason, l.sql_at,
       {{opt:l.name}} AS name, {{opt:l.company}} AS company,
       t.team, t.at
FROM {{leads}} l
LEFT JOIN LATERAL (
  SELECT a.team, min(a.occurred_at) AS at
  FROM {{activities}} a
  WHERE a.lead_id = l.id AND a.occurred_at >= l.mql_at AND a.occurred_at <= ?
  GROUP BY a.team
) t ON true
WHERE l.mql_at >= ? AND l.mql_at < ? AND l.mql_at <= ?
ORDER BY l.mql_at, l.id;

-- name: last-touches@postgres
-- The same as last-touches, probing the activity indexes per opportunity.
-- params: as_of, from, to, as_of, as_of, from, to, as_of
SELECT ref, created_at, amount, team, at FROM (
  SELECT o.id AS ref, o.created_at, o.amount, t.team, t.at
  FROM {{opportunities}} o
  CROSS JOIN LATERAL (
    SELECT a.team, max(a.occurred_at) AS at
    FROM {{activities}} a
    WHERE a.opportunity_id = o.id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
    GROUP BY a.team
  ) t
  WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
  UNION ALL
  SELECT o.id AS ref, o.created_at, o.amount, t.team, t.at
  FROM {{opportunities}} o
  CROSS JOIN LATERAL (
    SELECT a.team, max(a.occurred_at) AS at
    FROM {{activities}} a
    WHERE a.lead_id = o.lead_id AND a.occurred_at <= o.created_at AND a.occurred_at <= ?
    GROUP BY a.team
  ) t
  WHERE o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?
    AND o.lead_id IS NOT NULL AND o.lead_id <> ''
) touches
ORDER BY ref;

-- name: opportunities@postgres
-- The same as opportunities, with the lead's campaign looked up through the
-- leads' primary key for the opportunities of the period alone, rather
-- than by hashing the whole leads table. OFFSET 0 keeps PostgreSQL from
-- flattening the LATERAL subquery back into that hash join.
-- params: period_start, period_start, from, to, as_of, from, to, as_of
SELECT o.id, o.created_at, o.lead_id, l.campaign_id, o.source, o.owner_id,
       o.amount, o.closed_at, o.is_won
FROM {{opportunities}} o
LEFT JOIN LATERAL (
  SELECT l.campaign_id FROM {{leads}} l
  WHERE l.id = o.lead_id AND (o.created_at >= ? OR o.closed_at >= ?)
  OFFSET 0
) l ON true
WHERE (o.created_at >= ? AND o.created_at < ? AND o.created_at <= ?)
   OR (o.closed_at >= ? AND o.closed_at < ? AND o.closed_at <= ?);

-- name: wins@postgres
-- The same as wins: the campaign of each won deal's lead through the leads'
-- primary key (tens of thousands of look-ups) rather than a hash of the
-- whole leads table; OFFSET 0 keeps the subquery from being flattened.
-- params: as_of
SELECT l.campaign_id, o.amount
FROM {{opportunities}} o
CROSS JOIN LATERAL (
  SELECT l.campaign_id FROM {{leads}} l
  WHERE l.id = o.lead_id AND l.campaign_id IS NOT NULL
  OFFSET 0
) l
WHERE o.is_won AND o.closed_at <= ?;
