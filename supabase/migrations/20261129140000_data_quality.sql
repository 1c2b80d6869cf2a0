-- Data reliability, part 1: which sources each shop has, how fresh each must be, and the
-- results of the quality checks that private.run_quality_checks() records every 15 minutes.
--
-- Backups (opsdata backup) read table comments: "[backup: seeded]" marks a table whose rows
-- migrations insert (restore replaces them and they do not make a database "non-empty");
-- "[backup: skip]" excludes a table (caches).

-- ===== tables =======================================================================
-- one row per source kind the system knows: the defaults a shop's data_sources row starts from
create table private.source_defaults (
  source text primary key check (source ~ '^[a-z][a-z0-9_]*$'),
  label text not null,
  warn_after interval not null default interval '24 hours',
  error_after interval not null default interval '48 hours',
  expected_lag interval not null default interval '0',
  -- newest data time in the source's landing table ($1 = shop_id); NULL: sync_runs.max_data_at only
  data_through_sql text,
  required_relation text,  -- the table data_through_sql reads; ignored while it does not exist
  check (error_after >= warn_after)
);
comment on table private.source_defaults is
  'Known source kinds and their default thresholds and lag. [backup: seeded]';

-- one row per shop and source: thresholds (config) and the latest evaluated status (state)
create table public.data_sources (
  shop_id uuid not null references public.shops (id) on delete cascade,
  source text not null check (source ~ '^[a-z][a-z0-9_]*$'),
  warn_after interval not null default interval '24 hours' check (warn_after > interval '0'),
  error_after interval not null default interval '48 hours',
  expected_lag interval not null default interval '0' check (expected_lag >= interval '0'),
  reminder_every interval not null default interval '24 hours' check (reminder_every >= interval '1 hour'),
  enabled boolean not null default true,
  is_auto_configured boolean not null default false,  -- created by the check job, not by a person
  status text not null default 'grey' check (status in ('green', 'yellow', 'red', 'grey')),
  status_since timestamptz,
  status_message text,
  last_checked_at timestamptz,  -- NULL: never evaluated
  last_alert_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (shop_id, source),
  check (error_after >= warn_after)
);
comment on table public.data_sources is
  'Per shop and source: freshness thresholds, expected data lag, and the latest status (worst of its checks).';

-- one row per check per evaluation
create table public.data_quality_checks (
  id bigint generated always as identity primary key,
  shop_id uuid not null,
  source text not null,
  check_name text not null check (check_name in ('sync_freshness', 'data_recency', 'volume', 'validity')),
  status text not null check (status in ('green', 'yellow', 'red', 'grey')),
  observed numeric,         -- what was measured, in `unit`; NULL when it could not be measured
  threshold_warn numeric,   -- beyond this: yellow (strictly beyond: the boundary is still green)
  threshold_error numeric,  -- beyond this: red
  unit text not null,       -- hours | rows | ratio
  message text not null,
  details jsonb not null default '{}'::jsonb,
  checked_at timestamptz not null default now(),
  foreign key (shop_id, source) references public.data_sources (shop_id, source) on delete cascade
);
comment on table public.data_quality_checks is
  'Results of every quality check run (sync freshness, data recency, volume, validity).';

-- one row per validity rule: a query counting checked and invalid recent rows of one source
create table private.validity_rules (
  source text not null check (source ~ '^[a-z][a-z0-9_]*$'),
  rule text not null check (rule ~ '^[a-z][a-z0-9_]*$'),
  kind text not null check (kind in ('required_null', 'duplicate_key', 'negative_amount', 'out_of_range')),
  required_relation text not null,
  -- returns one row (checked bigint, invalid bigint) for $1 = shop_id
  checked_sql text not null,
  description text not null,  -- what an invalid row is, in words ("orders with a negative total")
  primary key (source, rule)
);
comment on table private.validity_rules is
  'Validity rules per source; a rule whose table does not exist is skipped. [backup: seeded]';

-- ===== indexes ======================================================================
create index data_quality_checks_latest_idx
  on public.data_quality_checks (shop_id, source, check_name, checked_at desc);
create index data_quality_checks_checked_at_idx on public.data_quality_checks (checked_at);

-- ===== seeds ========================================================================
insert into private.source_defaults (source, label, expected_lag, data_through_sql, required_relation) values
  ('shopify', 'Shopify', interval '0',
   'select max(o.created_at) from public.shopify_orders o where o.shop_id = $1', 'public.shopify_orders'),
  -- GSC dates are Pacific days; a day's data is complete at the end of that Pacific day
  ('gsc', 'Google Search Console', interval '3 days',
   'select (max(g.date) + 1)::timestamp at time zone ''America/Los_Angeles'' from public.gsc_page_daily g where g.shop_id = $1',
   'public.gsc_page_daily'),
  ('ga', 'Google Analytics', interval '2 days',
   'select (max(g.date) + 1)::timestamp at time zone max(s.timezone) from public.ga_page_daily g join public.shops s on s.id = g.shop_id where g.shop_id = $1',
   'public.ga_page_daily'),
  ('events', 'Storefront events', interval '0',
   'select max(e.occurred_at) from public.events e where e.shop_id = $1', 'public.events'),
  ('chatwoot', 'Chatwoot', interval '0', null, null);

-- Only rules that can fire on the landing tables: NOT NULL columns and primary keys already
-- reject the other kinds at load time.
insert into private.validity_rules (source, rule, kind, required_relation, checked_sql, description) values
  ('shopify', 'negative_amounts', 'negative_amount', 'public.shopify_orders',
   'select count(*), count(*) filter (where o.subtotal < 0 or o.total < 0 or o.total_refunded < 0)
      from public.shopify_orders o where o.shop_id = $1 and o.created_at >= now() - interval ''30 days''',
   'orders with a negative subtotal, total or refunded amount'),
  ('shopify', 'refund_exceeds_total', 'out_of_range', 'public.shopify_orders',
   'select count(*), count(*) filter (where o.total_refunded > o.total and o.total >= 0)
      from public.shopify_orders o where o.shop_id = $1 and o.created_at >= now() - interval ''30 days''',
   'orders refunded for more than their total'),
  ('shopify', 'missing_processed_at', 'required_null', 'public.shopify_orders',
   'select count(*), count(*) filter (where o.processed_at is null and o.cancelled_at is null and not o.is_test)
      from public.shopify_orders o where o.shop_id = $1 and o.created_at >= now() - interval ''30 days''',
   'live orders without a processed time'),
  ('shopify', 'negative_line_amounts', 'negative_amount', 'public.shopify_order_lines',
   'select count(*), count(*) filter (where l.unit_price < 0 or l.discounted_total < 0 or l.quantity < 0)
      from public.shopify_order_lines l join public.shopify_orders o on o.shop_id = l.shop_id and o.id = l.order_id
      where l.shop_id = $1 and o.created_at >= now() - interval ''30 days''',
   'order lines with a negative price, total or quantity'),
  ('gsc', 'ctr_out_of_range', 'out_of_range', 'public.gsc_page_daily',
   'select count(*), count(*) filter (where g.ctr < 0 or g.ctr > 1)
      from public.gsc_page_daily g where g.shop_id = $1 and g.date >= current_date - 30',
   'rows with a click-through rate outside 0-1'),
  ('gsc', 'inconsistent_counts', 'out_of_range', 'public.gsc_page_daily',
   'select count(*), count(*) filter (where g.clicks < 0 or g.impressions < 0 or g.clicks > g.impressions)
      from public.gsc_page_daily g where g.shop_id = $1 and g.date >= current_date - 30',
   'rows with negative counts or more clicks than impressions'),
  ('ga', 'negative_values', 'negative_amount', 'public.ga_page_daily',
   'select count(*), count(*) filter (where g.sessions < 0 or g.engaged_sessions < 0 or g.purchase_revenue < 0
                                        or g.engaged_sessions > g.sessions)
      from public.ga_page_daily g where g.shop_id = $1 and g.date >= current_date - 30',
   'rows with negative sessions or revenue, or more engaged sessions than sessions'),
  ('events', 'duplicate_events', 'duplicate_key', 'public.events',
   'select count(*), count(*) - count(distinct (e.session_id, e.event_name, e.occurred_at, coalesce(e.page, '''')))
      from public.events e where e.shop_id = $1 and e.occurred_at >= now() - interval ''7 days''',
   'events repeated under another id (same session, name, time and page)'),
  ('events', 'page_view_without_page', 'required_null', 'public.events',
   'select count(*) filter (where e.event_name = ''page_view''),
           count(*) filter (where e.event_name = ''page_view'' and (e.page is null or e.page = ''''))
      from public.events e where e.shop_id = $1 and e.occurred_at >= now() - interval ''7 days''',
   'page views without a page');

-- ===== row level security ===========================================================
alter table private.source_defaults enable row level security;
alter table private.validity_rules enable row level security;
alter table public.data_sources enable row level security;
alter table public.data_quality_checks enable row level security;

create policy members_read on public.data_sources
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.data_quality_checks
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
-- Writes come from the check job (service_role/postgres) and from admins through
-- public.configure_data_source, never from direct table access.
revoke all on private.source_defaults, private.validity_rules from public, anon, authenticated;
grant select, insert, update, delete on private.source_defaults, private.validity_rules to service_role;
revoke all on public.data_sources, public.data_quality_checks from anon, authenticated;
grant select on public.data_sources, public.data_quality_checks to authenticated;
grant select, insert, update, delete on public.data_sources, public.data_quality_checks to service_role;

-- ===== schedules ====================================================================
select private.schedule_job(
  'data_quality_checks', '*/15 * * * *', 'private.run_quality_checks()',
  'Checks every enabled source of every shop (freshness, recency, volume, validity); alerts on status changes.'
);
select private.schedule_job(
  'purge_data_quality_history', '23 3 * * *', 'private.purge_data_quality_history()',
  'Deletes data quality check results older than 30 days (the latest per check is always kept).'
);
