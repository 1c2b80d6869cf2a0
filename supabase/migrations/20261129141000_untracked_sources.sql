-- Sources that write sync_runs rows but are not data an operator relies on: the demo
-- generator records its parameters in a `demo_data` run. They get no data_sources row (no
-- status, no alerts) and no rows_loaded anomaly series.

-- ===== tables =======================================================================
alter table private.source_defaults
  add column is_tracked boolean not null default true;
comment on column private.source_defaults.is_tracked is
  'false: runs of this source are bookkeeping, not data (no freshness status, no rows_loaded series).';

-- ===== seeds ========================================================================
insert into private.source_defaults (source, label, is_tracked)
values ('demo_data', 'Demo data generator', false)
on conflict (source) do update set is_tracked = false;

-- rows loaded per day, as before, without untracked sources
update private.anomaly_metrics
set values_sql = 'select ''rows_loaded.'' || r.source, r.source, (r.started_at at time zone s.timezone)::date, sum(r.rows_loaded)::numeric
      from public.sync_runs r join public.shops s on s.id = r.shop_id
     where r.shop_id = $1 and r.status = ''succeeded''
       and r.started_at >= $2::timestamp at time zone s.timezone
       and r.started_at < ($3 + 1)::timestamp at time zone s.timezone
       and not exists (select 1 from private.source_defaults d where d.source = r.source and not d.is_tracked)
     group by 1, 2, 3'
where metric = 'rows_loaded';

-- ===== data =========================================================================
-- what earlier runs of the check job configured for them automatically
delete from public.data_sources d
using private.source_defaults s
where s.source = d.source and not s.is_tracked and d.is_auto_configured;
delete from public.anomaly_series_state a
using private.source_defaults s
where a.series = 'rows_loaded.' || s.source and not s.is_tracked;
delete from public.anomalies a
using private.source_defaults s
where a.series = 'rows_loaded.' || s.source and not s.is_tracked;
