-- Baselines: 90-day statistics per page and for the whole site, from Search Console and GA4.
-- The numbers come from one SQL function (private.baseline_rows, sql/functions/baselines/):
-- the nightly job stores them here, public.baseline_for computes any other window on demand.

-- ===== helpers (the table and indexes below depend on them) ==========================
-- GSC reports full URLs, GA4 landing pages as paths: both are keyed by the path.
-- No SET clause on these two: they inline into queries and index expressions (built-ins only).
create function private.page_path(p_page text)
returns text
language sql
immutable
parallel safe
as $$
  select coalesce(nullif(pg_catalog.split_part(pg_catalog.split_part(pg_catalog.regexp_replace(p_page, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*', ''), '?', 1), '#', 1), ''), '/')
$$;
comment on function private.page_path(text) is
  'A page key: the URL path without scheme, host, query and fragment ("/" when empty). GSC URLs and GA4 paths meet on it.';

create function private.baseline_metric_names()
returns text[]
language sql
immutable
parallel safe
as $$
  select array['clicks', 'impressions', 'ctr', 'position',
               'sessions', 'conversion_rate', 'revenue', 'revenue_per_session', 'aov']
$$;
comment on function private.baseline_metric_names() is 'The metrics a baseline is kept for.';

revoke execute on function private.page_path(text), private.baseline_metric_names() from public, anon;
grant execute on function private.page_path(text), private.baseline_metric_names() to authenticated, service_role;

-- ===== tables =======================================================================
-- one row per shop, page ('*' = the whole site) and metric: the current baseline
create table public.baseline_metrics (
  shop_id uuid not null references public.shops (id) on delete cascade,
  page text not null,            -- private.page_path of the source's page, or '*' for the site
  metric text not null check (metric = any (private.baseline_metric_names())),
  source text not null check (source in ('gsc', 'ga')),
  window_start date not null,    -- first day (the source's first day of data, if later)
  window_end date not null,      -- the source's last complete day
  days_in_window integer not null check (days_in_window > 0),
  days_observed integer not null check (days_observed >= 0),  -- days the metric is defined
  window_value double precision, -- ratios: over the window's sums; counts and revenue: the window total
  mean double precision,         -- of the daily values (missing days are zeros for counts)
  stddev double precision,       -- sample standard deviation of the daily values
  median double precision,
  p25 double precision,
  p75 double precision,
  dow_profile double precision[] not null,  -- ISO weekday 1 (Monday) .. 7: ratio of sums, or mean per day
  computed_at timestamptz not null default now(),
  primary key (shop_id, page, metric),
  check (window_end >= window_start),
  check (cardinality(dow_profile) = 7)
);
comment on table public.baseline_metrics is
  'Current 90-day baselines per page and site-wide (page ''*''): window value, mean, stddev, median, quartiles, days observed, weekday profile. Nightly job refresh_baselines.';

-- ===== indexes ======================================================================
-- one page's series by its path (baseline_for on a page)
create index gsc_page_daily_path_idx on public.gsc_page_daily (shop_id, private.page_path(page), date);
create index ga_page_daily_path_idx on public.ga_page_daily (shop_id, private.page_path(page), date);

-- ===== row level security ===========================================================
alter table public.baseline_metrics enable row level security;
create policy members_read on public.baseline_metrics
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.baseline_metrics from anon, authenticated;
grant select on public.baseline_metrics to authenticated;
grant select, insert, update, delete on public.baseline_metrics to service_role;

-- ===== schedules ====================================================================
select private.schedule_job(
  'refresh_baselines', '10 3 * * *', 'private.refresh_baselines(p_shop_id => $1)',
  'Baselines: recomputes the 90-day baselines of every page and of the site, per shop.'
);
