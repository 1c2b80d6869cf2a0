-- Derived sources: the nightly affinity and baseline refreshes record sync_runs rows like any
-- pipeline, so the freshness checks watch them too (a refresh that stops running turns yellow,
-- then red). Their data-through times lag like their inputs: baselines end at the newest
-- complete day of Search Console / GA4 (two to three days back), affinity at the newest order.

-- ===== seeds ========================================================================
insert into private.source_defaults (source, label, expected_lag, is_tracked) values
  ('affinity', 'Product affinity (nightly refresh)', interval '0', true),
  ('baselines', 'Baselines (nightly refresh)', interval '3 days', true)
on conflict (source) do update
  set label = excluded.label, expected_lag = excluded.expected_lag, is_tracked = excluded.is_tracked;

-- sources the check job configured automatically before these defaults existed
update public.data_sources d
set expected_lag = s.expected_lag
from private.source_defaults s
where s.source = d.source and d.is_auto_configured and s.source in ('affinity', 'baselines');
