-- Data reliability, part 3: anomaly detection on daily series (private.detect_anomalies, daily).
-- Series come from a registry of metrics (private.anomaly_metrics), each a query over a landing
-- table; a metric whose table does not exist (e.g. Chatwoot before its ETL is deployed) is skipped.
-- Expected value and band: median and MAD of the same weekday in a trailing window that excludes
-- the point under test and points already flagged.

-- ===== tables =======================================================================
-- one row per metric; values_sql returns (series text, source text, day date, value numeric)
-- for $1 = shop_id, $2 = first day, $3 = last day (days in the shop's time zone)
create table private.anomaly_metrics (
  metric text primary key check (metric ~ '^[a-z][a-z0-9_]*$'),
  label text not null,
  unit text not null check (unit in ('count', 'money', 'ratio')),
  -- counts get a Poisson floor on the spread (a quiet series of small counts is not "zero variance")
  is_count boolean not null,
  -- a day without rows is a zero (orders) rather than a gap (average order value)
  fill_missing_with_zero boolean not null,
  -- days newer than the source's expected lag are incomplete and not judged (GSC, GA)
  uses_source_lag boolean not null default true,
  required_relation text,
  values_sql text not null,
  default_sensitivity numeric not null default 4 check (default_sensitivity > 0),
  default_direction text not null default 'both' check (default_direction in ('both', 'spike', 'drop')),
  description text not null
);
comment on table private.anomaly_metrics is
  'Daily metrics watched for anomalies; a metric whose table does not exist is skipped. [backup: seeded]';

-- one row per shop and series (or metric, applying to all its series): detection settings
create table public.anomaly_settings (
  shop_id uuid not null references public.shops (id) on delete cascade,
  series text not null check (series ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$'),
  sensitivity numeric check (sensitivity > 0),  -- NULL: the metric's default
  direction text check (direction in ('both', 'spike', 'drop')),
  min_history integer not null default 4 check (min_history >= 3),
  window_weeks integer not null default 8 check (window_weeks between 3 and 52),
  enabled boolean not null default true,
  updated_at timestamptz not null default now(),
  primary key (shop_id, series),
  check (window_weeks >= min_history)
);
comment on table public.anomaly_settings is
  'Per shop: sensitivity, direction, minimum history and window of a series ("orders") or of all series of a metric.';

-- one row per shop and series: where detection stands
create table public.anomaly_series_state (
  shop_id uuid not null references public.shops (id) on delete cascade,
  series text not null,
  metric text not null,
  source text not null,
  last_evaluated_on date,
  baseline_start_on date,  -- set after a level shift: older days no longer describe normal
  state text not null check (state in ('ok', 'anomaly', 'insufficient_history')),
  history_points integer not null default 0,
  min_history integer not null,
  message text not null,
  updated_at timestamptz not null default now(),
  primary key (shop_id, series)
);
comment on table public.anomaly_series_state is
  'Per shop and series: the last evaluated day and its verdict, including "insufficient history".';

-- one row per flagged point
create table public.anomalies (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  series text not null,
  metric text not null,
  source text not null,
  observed_on date not null,
  value numeric not null,
  expected numeric not null,
  band_low numeric not null,
  band_high numeric not null,
  score numeric not null,  -- (value - expected) / robust sigma
  direction text not null check (direction in ('spike', 'drop')),
  kind text not null default 'point' check (kind in ('point', 'level_shift')),
  sensitivity numeric not null,
  history_points integer not null,
  excluded_from_baseline boolean not null default true,  -- level shifts become the new normal
  detected_at timestamptz not null default now(),
  unique (shop_id, series, observed_on)
);
comment on table public.anomalies is 'Flagged points of daily series: value, expected, band, robust score, direction.';

-- ===== indexes ======================================================================
create index anomalies_shop_observed_idx on public.anomalies (shop_id, observed_on desc, id desc);

-- ===== seeds ========================================================================
insert into private.anomaly_metrics
  (metric, label, unit, is_count, fill_missing_with_zero, uses_source_lag, required_relation, values_sql, description)
values
  ('orders', 'Orders', 'count', true, true, true, 'public.shopify_orders',
   'select ''orders'', ''shopify'', (o.created_at at time zone s.timezone)::date, count(*)::numeric
      from public.shopify_orders o join public.shops s on s.id = o.shop_id
     where o.shop_id = $1 and not o.is_test and o.cancelled_at is null
       and o.created_at >= $2::timestamp at time zone s.timezone
       and o.created_at < ($3 + 1)::timestamp at time zone s.timezone
     group by 3',
   'Orders per day (not test, not cancelled), by creation day in the shop''s time zone.'),
  ('revenue', 'Revenue', 'money', false, true, true, 'public.shopify_orders',
   'select ''revenue'', ''shopify'', (o.created_at at time zone s.timezone)::date, sum(o.total - o.total_refunded)
      from public.shopify_orders o join public.shops s on s.id = o.shop_id
     where o.shop_id = $1 and not o.is_test and o.cancelled_at is null
       and o.created_at >= $2::timestamp at time zone s.timezone
       and o.created_at < ($3 + 1)::timestamp at time zone s.timezone
     group by 3',
   'Net revenue per day (order totals less refunds).'),
  ('aov', 'Average order value', 'money', false, false, true, 'public.shopify_orders',
   'select ''aov'', ''shopify'', (o.created_at at time zone s.timezone)::date, avg(o.total - o.total_refunded)
      from public.shopify_orders o join public.shops s on s.id = o.shop_id
     where o.shop_id = $1 and not o.is_test and o.cancelled_at is null
       and o.created_at >= $2::timestamp at time zone s.timezone
       and o.created_at < ($3 + 1)::timestamp at time zone s.timezone
     group by 3',
   'Average net order value per day; days without orders are gaps, not zeros.'),
  ('sessions', 'Sessions', 'count', true, true, true, 'public.ga_page_daily',
   'select ''sessions'', ''ga'', g.date, sum(g.sessions)::numeric from public.ga_page_daily g
     where g.shop_id = $1 and g.date between $2 and $3 group by 3',
   'GA4 sessions per day.'),
  ('gsc_clicks', 'Search clicks', 'count', true, true, true, 'public.gsc_page_daily',
   'select ''gsc_clicks'', ''gsc'', g.date, sum(g.clicks)::numeric from public.gsc_page_daily g
     where g.shop_id = $1 and g.date between $2 and $3 group by 3',
   'Search Console clicks per day.'),
  ('gsc_impressions', 'Search impressions', 'count', true, true, true, 'public.gsc_page_daily',
   'select ''gsc_impressions'', ''gsc'', g.date, sum(g.impressions)::numeric from public.gsc_page_daily g
     where g.shop_id = $1 and g.date between $2 and $3 group by 3',
   'Search Console impressions per day.'),
  -- the Chatwoot ETL's table; skipped until it exists
  ('chatwoot_conversations', 'Support conversations', 'count', true, true, true, 'public.chatwoot_conversations',
   'select ''chatwoot_conversations'', ''chatwoot'', (c.created_at at time zone s.timezone)::date, count(*)::numeric
      from public.chatwoot_conversations c join public.shops s on s.id = c.shop_id
     where c.shop_id = $1
       and c.created_at >= $2::timestamp at time zone s.timezone
       and c.created_at < ($3 + 1)::timestamp at time zone s.timezone
     group by 3',
   'Chatwoot conversations started per day.'),
  -- rows loaded is complete at the end of the day, whatever the source's data lag
  ('rows_loaded', 'Rows loaded', 'count', true, true, false, 'public.sync_runs',
   'select ''rows_loaded.'' || r.source, r.source, (r.started_at at time zone s.timezone)::date, sum(r.rows_loaded)::numeric
      from public.sync_runs r join public.shops s on s.id = r.shop_id
     where r.shop_id = $1 and r.status = ''succeeded''
       and r.started_at >= $2::timestamp at time zone s.timezone
       and r.started_at < ($3 + 1)::timestamp at time zone s.timezone
     group by 1, 2, 3',
   'Rows loaded per source and day (successful sync runs), one series per source.');

-- ===== row level security ===========================================================
alter table private.anomaly_metrics enable row level security;
alter table public.anomaly_settings enable row level security;
alter table public.anomaly_series_state enable row level security;
alter table public.anomalies enable row level security;

create policy members_read on public.anomaly_settings
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.anomaly_series_state
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.anomalies
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on private.anomaly_metrics from public, anon, authenticated;
grant select, insert, update, delete on private.anomaly_metrics to service_role;
revoke all on public.anomaly_settings, public.anomaly_series_state, public.anomalies from anon, authenticated;
grant select on public.anomaly_settings, public.anomaly_series_state, public.anomalies to authenticated;
grant select, insert, update, delete on public.anomaly_settings, public.anomaly_series_state, public.anomalies
  to service_role;

-- ===== schedules ====================================================================
-- after the nightly loads; days are judged once complete (and past the source's lag)
select private.schedule_job(
  'detect_anomalies', '41 * * * *', 'private.detect_anomalies()',
  'Judges newly completed days of every daily series against same-weekday history; alerts on new anomalies.'
);
