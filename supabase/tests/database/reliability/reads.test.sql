-- The totals behind the paged reliability reads (count_alerts, count_anomalies) and untracked
-- sources: members count their shop only, non-members and anon get 42501, and the demo
-- generator's bookkeeping runs never become a data source.
begin;
select plan(16);

select tests.create_two_shops();
select private.enqueue_alert(s, k, 'warning', 'feed', 't', 'm', '{}', format('%s-%s', k, g))
from ids, unnest(array[alpha, beta]) s, unnest(array['anomaly', 'reminder']) k, generate_series(1, 3) g;
insert into public.anomalies (shop_id, series, metric, source, observed_on, value, expected, band_low, band_high,
                              score, direction, sensitivity, history_points)
select s, 'orders', 'orders', 'shopify', date '2026-06-01' + g, 1, 30, 10, 50, -5, 'drop', 4, 8
from ids, unnest(array[alpha, beta]) s, generate_series(1, 4) g;

-- ===== a member ========================================================================
select tests.authenticate_as(tests.id('alpha_member'));
select is(public.count_alerts(tests.id('alpha')), 6::bigint, 'a member counts their shop''s alerts');
select is(public.count_alerts(tests.id('alpha'), p_kind => 'anomaly'), 3::bigint, 'count_alerts filters by kind');
select is(public.count_alerts(tests.id('alpha'), p_source => 'other'), 0::bigint, 'count_alerts filters by source');
select is(public.count_anomalies(tests.id('alpha')), 4::bigint, 'a member counts their shop''s anomalies');
select is(public.count_anomalies(tests.id('alpha'), p_series => 'revenue'), 0::bigint,
  'count_anomalies filters by series');
select throws_ok($$ select public.count_alerts(tests.id('beta')) $$, '42501', null,
  'count_alerts raises 42501 for another shop');
select throws_ok($$ select public.count_anomalies(tests.id('beta')) $$, '42501', null,
  'count_anomalies raises 42501 for another shop');

-- ===== page arguments (private.require_page_args), as the member ======================
select throws_ok($$ select * from public.list_alerts(tests.id('alpha'), 0) $$, 'OD003',
  'p_limit must be between 1 and 500 (got 0)', 'list_alerts refuses an empty page');
select throws_ok($$ select * from public.list_alerts(tests.id('alpha'), 501) $$, 'OD003',
  'p_limit must be between 1 and 500 (got 501)', 'list_alerts refuses a page over 500');
select throws_ok($$ select * from public.list_alerts(tests.id('alpha'), p_after_id => 1) $$, 'OD003',
  'p_after_created_at and p_after_id go together', 'list_alerts refuses half a cursor');
select throws_ok($$ select * from public.list_anomalies(tests.id('alpha'), p_after_observed_on => current_date) $$,
  'OD003', 'p_after_observed_on and p_after_id go together', 'list_anomalies refuses half a cursor');
select is((select count(*) from public.list_anomalies(tests.id('alpha'), 2, date '2026-06-04', 1 + (
             select max(id) from public.anomalies where shop_id = tests.id('alpha')))), 2::bigint,
  'list_anomalies takes a whole cursor: the page after it');
select tests.clear_authentication();

-- ===== anon ============================================================================
select tests.authenticate_as_anon();
select throws_ok($$ select public.count_alerts((select alpha from ids)) $$, '42501', null, 'anon cannot count alerts');
select throws_ok($$ select public.count_anomalies((select alpha from ids)) $$, '42501', null,
  'anon cannot count anomalies');
select tests.clear_authentication();

-- ===== untracked sources =================================================================
insert into public.sync_runs (shop_id, source, started_at, finished_at, status)
select alpha, src, now() - interval '1 hour', now(), 'succeeded' from ids, unnest(array['demo_data', 'crm']) src;
select private.ensure_data_sources();
select is((select array_agg(source order by source) from public.data_sources where shop_id = tests.id('alpha')),
  array['crm'], 'a tracked source is configured automatically, the demo generator''s runs are not');
select ok((select not is_tracked from private.source_defaults where source = 'demo_data'),
  'demo_data is registered as untracked');

select * from finish();
rollback;
