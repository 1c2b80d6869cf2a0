-- baseline_rows: the baselines of a shop, computed from the landing tables; one row per page
-- ('*' = the whole site) and metric. The one definition of a baseline: the nightly job stores
-- its rows (refresh_baselines) and public.baseline_for returns them for any window.
--
-- Windows: each source ends at its last complete day on or before p_as_of, never at now():
-- Search Console at its newest final date (is_final), GA4 two days before today (its processing
-- takes 24-48 h) or its newest loaded day if older. A window starts p_days - 1 days earlier, or
-- at the source's first day of data for the shop if later (days before that are unknown, not zero).
-- Missing days are zeros: both sources omit pages with no impressions or sessions that day.
-- Counts and revenue: daily values over every day of the window; window_value is the total.
-- Ratios (ctr, position, conversion_rate, revenue_per_session, aov): daily values on days whose
-- denominator is above zero; window_value is the ratio of the window's sums (clicks ÷ impressions,
-- impression-weighted position, ...), not a mean of daily ratios. dow_profile: per ISO weekday,
-- the ratio of sums (ratios) or the mean per day (counts).
-- No SET clause, so the planner can inline it into its callers; names are qualified.
create or replace function private.baseline_rows(
  p_shop_id uuid,
  p_page text default null,     -- NULL: every page and the site; '*': the site; else one page path
  p_metric text default null,   -- NULL: every metric
  p_as_of date default null,    -- the windows end on or before this day
  p_days integer default 90
)
returns setof public.baseline_metrics
language sql
stable
as $$
  with shop as (
    select (now() at time zone s.timezone)::date as today from public.shops s where s.id = p_shop_id
  ),
  -- ---- each source's window -------------------------------------------------------------
  gsc_end as (
    select max(g.date) as last_day
    from public.gsc_page_daily g
    where g.shop_id = p_shop_id and g.is_final and g.date <= coalesce(p_as_of, 'infinity'::date)
  ),
  ga_end as (
    select max(g.date) as last_day
    from public.ga_page_daily g
    where g.shop_id = p_shop_id
      and g.date <= least(coalesce(p_as_of, 'infinity'::date), (select shop.today from shop) - 2)
  ),
  windows as (
    select 'gsc'::text as source, e.last_day,
           greatest(e.last_day - p_days + 1,
                    (select min(g.date) from public.gsc_page_daily g where g.shop_id = p_shop_id)) as first_day
    from gsc_end e
    where e.last_day is not null
      and (p_metric is null or p_metric in ('clicks', 'impressions', 'ctr', 'position'))
    union all
    select 'ga', e.last_day,
           greatest(e.last_day - p_days + 1,
                    (select min(g.date) from public.ga_page_daily g where g.shop_id = p_shop_id))
    from ga_end e
    where e.last_day is not null
      and (p_metric is null or p_metric in ('sessions', 'revenue', 'conversion_rate', 'revenue_per_session', 'aov'))
  ),
  -- ---- one row per page path ('*' = the site) and day with data -------------------------
  -- The site ('*') reads its daily sums from gsc_site_daily / ga_site_daily (kept exactly by
  -- triggers on the landing tables): one row per day, not every page's rows of the window.
  -- Sums are exact (integers, numeric) until the one cast to float8. The numeric sums (the slow
  -- ones) only for the metrics that need them.
  gsc_series as (
    select g.page_path as page, g.date,
           sum(g.clicks)::float8 as clicks,
           sum(g.impressions)::float8 as impressions,
           sum(g.position * g.impressions) filter (where p_metric is null or p_metric = 'position')::float8
             as position_weighted
    from public.gsc_page_daily g
    join windows w on w.source = 'gsc' and g.date between w.first_day and w.last_day
    where g.shop_id = p_shop_id
      and (p_page is null or (p_page <> '*' and g.page_path = p_page))
    group by 1, 2
    union all
    select '*', r.date, r.clicks::float8, r.impressions::float8,
           case when p_metric is null or p_metric = 'position' then r.position_weighted::float8 end
    from public.gsc_site_daily r
    join windows w on w.source = 'gsc' and r.date between w.first_day and w.last_day
    where r.shop_id = p_shop_id
      and (p_page is null or p_page = '*')
  ),
  ga_series as (
    select g.page_path as page, g.date,
           sum(g.sessions)::float8 as sessions,
           sum(g.transactions)::float8 as transactions,
           sum(g.purchase_revenue)
             filter (where p_metric is null or p_metric in ('revenue', 'revenue_per_session', 'aov'))::float8
             as revenue
    from public.ga_page_daily g
    join windows w on w.source = 'ga' and g.date between w.first_day and w.last_day
    where g.shop_id = p_shop_id
      and (p_page is null or (p_page <> '*' and g.page_path = p_page))
    group by 1, 2
    union all
    select '*', r.date, r.sessions::float8, r.transactions::float8,
           case when p_metric is null or p_metric in ('revenue', 'revenue_per_session', 'aov')
                then r.purchase_revenue::float8 end
    from public.ga_site_daily r
    join windows w on w.source = 'ga' and r.date between w.first_day and w.last_day
    where r.shop_id = p_shop_id
      and (p_page is null or p_page = '*')
  ),
  -- ---- pages, numbered (grouping and sorting by integers, not text, keeps it fast) ------
  pages as (
    select p.source, p.page, row_number() over () as page_no
    from (select distinct 'gsc'::text as source, s.page from gsc_series s
          union all
          select distinct 'ga', s.page from ga_series s) p
  ),
  -- ---- every page on every day of its source's window (missing days are zeros) ----------
  -- dow: ISO weekday (1 = Monday) as an integer, from the days since Monday 2001-01-01
  grid as (
    select p.source, p.page, p.page_no, day::date as date,
           ((day::date - date '2001-01-01') % 7 + 7) % 7 + 1 as dow
    from windows w
    join pages p on p.source = w.source
    cross join generate_series(w.first_day, w.last_day, interval '1 day') day
  ),
  -- ---- one row per page, metric and day: numerator and denominator (narrow: it is sorted) --
  daily as (
    select g.page_no, m.metric_no, g.dow, m.num, m.den, case when m.den > 0 then m.num / m.den end as value
    from grid g
    left join gsc_series s on s.page = g.page and s.date = g.date
    cross join lateral (
      values
        (1, coalesce(s.clicks, 0), 1::float8),
        (2, coalesce(s.impressions, 0), 1),
        (3, coalesce(s.clicks, 0), coalesce(s.impressions, 0)),
        (4, coalesce(s.position_weighted, 0), coalesce(s.impressions, 0))
    ) as m (metric_no, num, den)
    where g.source = 'gsc'
    union all
    select g.page_no, m.metric_no, g.dow, m.num, m.den, case when m.den > 0 then m.num / m.den end
    from grid g
    left join ga_series a on a.page = g.page and a.date = g.date
    cross join lateral (
      values
        (5, coalesce(a.sessions, 0), 1::float8),
        (6, coalesce(a.revenue, 0), 1),
        (7, coalesce(a.transactions, 0), coalesce(a.sessions, 0)),
        (8, coalesce(a.revenue, 0), coalesce(a.sessions, 0)),
        (9, coalesce(a.revenue, 0), coalesce(a.transactions, 0))
    ) as m (metric_no, num, den)
    where g.source = 'ga'
  ),
  metrics as (
    select m.metric_no, m.metric, m.source, m.is_ratio
    from (values (1, 'clicks', 'gsc', false), (2, 'impressions', 'gsc', false), (3, 'ctr', 'gsc', true),
                 (4, 'position', 'gsc', true), (5, 'sessions', 'ga', false), (6, 'revenue', 'ga', false),
                 (7, 'conversion_rate', 'ga', true), (8, 'revenue_per_session', 'ga', true),
                 (9, 'aov', 'ga', true)) as m (metric_no, metric, source, is_ratio)
    where p_metric is null or m.metric = p_metric
  ),
  -- ---- one row per page and metric ------------------------------------------------------
  stats as (
    select d.page_no, d.metric_no,
           count(*)::integer as days_in_window,
           count(d.value)::integer as days_observed,
           sum(d.num) as num,
           sum(d.den) as den,
           avg(d.value) as mean,
           stddev_samp(d.value) as stddev,
           percentile_cont(array[0.25, 0.5, 0.75]::float8[]) within group (order by d.value) as quartiles,
           array[
             sum(d.num) filter (where d.dow = 1) / nullif(sum(d.den) filter (where d.dow = 1), 0),
             sum(d.num) filter (where d.dow = 2) / nullif(sum(d.den) filter (where d.dow = 2), 0),
             sum(d.num) filter (where d.dow = 3) / nullif(sum(d.den) filter (where d.dow = 3), 0),
             sum(d.num) filter (where d.dow = 4) / nullif(sum(d.den) filter (where d.dow = 4), 0),
             sum(d.num) filter (where d.dow = 5) / nullif(sum(d.den) filter (where d.dow = 5), 0),
             sum(d.num) filter (where d.dow = 6) / nullif(sum(d.den) filter (where d.dow = 6), 0),
             sum(d.num) filter (where d.dow = 7) / nullif(sum(d.den) filter (where d.dow = 7), 0)
           ] as dow_profile
    from daily d
    where d.metric_no in (select m.metric_no from metrics m)
    group by d.page_no, d.metric_no
  )
  select p_shop_id, p.page, m.metric, m.source, w.first_day, w.last_day, s.days_in_window,
         s.days_observed,
         case when m.is_ratio then s.num / nullif(s.den, 0) else s.num end,
         s.mean, s.stddev, s.quartiles[2], s.quartiles[1], s.quartiles[3],
         s.dow_profile, now()
  from stats s
  join metrics m on m.metric_no = s.metric_no
  join pages p on p.page_no = s.page_no
  join windows w on w.source = m.source
$$;
comment on function private.baseline_rows(uuid, text, text, date, integer) is
  'Baselines of a shop per page (''*'' = site) and metric for the p_days window ending at each source''s last complete day on or before p_as_of.';
revoke execute on function private.baseline_rows(uuid, text, text, date, integer) from public, anon;
grant execute on function private.baseline_rows(uuid, text, text, date, integer) to authenticated, service_role;
