-- Row level security of every data reliability table, and the shop-scoped read functions:
-- anon denied, a non-member sees nothing (and the functions raise 42501), a member sees only
-- their shop, only service_role (and admins through the checked RPC) write.
begin;
select plan(42);

select tests.create_two_shops('viewer');
select tests.add_member(alpha, tests.create_user('admin@alpha.pgtap.test'), 'admin') from ids;

-- one row of everything in each shop
insert into public.data_sources (shop_id, source) select alpha, 'shopify' from ids union all select beta, 'shopify' from ids;
insert into public.data_quality_checks (shop_id, source, check_name, status, unit, message)
  select s, 'shopify', 'sync_freshness', 'green', 'hours', 'ok' from ids, unnest(array[alpha, beta]) s;
select private.enqueue_alert(s, 'status_change', 'warning', 'shopify', 't', 'm', '{}', 'k') from ids, unnest(array[alpha, beta]) s;
insert into public.anomalies (shop_id, series, metric, source, observed_on, value, expected, band_low, band_high, score,
                              direction, sensitivity, history_points)
  select s, 'orders', 'orders', 'shopify', date '2026-06-01', 1, 30, 10, 50, -5, 'drop', 4, 8
  from ids, unnest(array[alpha, beta]) s;
insert into public.anomaly_settings (shop_id, series, sensitivity) select s, 'orders', 3 from ids, unnest(array[alpha, beta]) s;
insert into public.anomaly_series_state (shop_id, series, metric, source, state, min_history, message)
  select s, 'orders', 'orders', 'shopify', 'ok', 4, 'ok' from ids, unnest(array[alpha, beta]) s;

create temporary table tables_under_test (name text) on commit drop;
insert into tables_under_test values ('data_sources'), ('data_quality_checks'), ('alerts'), ('anomalies'),
  ('anomaly_settings'), ('anomaly_series_state');
grant select on tables_under_test to anon, authenticated, service_role;

-- ===== anon ============================================================================
select tests.authenticate_as_anon();
select throws_ok(format('select count(*) from public.%I', name), '42501', null, 'anon cannot read ' || name)
from tables_under_test;
select throws_ok($$ select * from public.data_quality((select alpha from ids)) $$, '42501', null,
  'anon cannot call data_quality');
select throws_ok($$ select * from public.list_alerts((select alpha from ids)) $$, '42501', null,
  'anon cannot call list_alerts');
select tests.clear_authentication();

-- ===== a non-member ======================================================================
select tests.authenticate_as((select stranger from ids));
select is_empty(format('select 1 from public.%I', name), 'a non-member sees no ' || name) from tables_under_test;
select throws_ok($$ select * from public.data_quality((select alpha from ids)) $$, '42501', null,
  'data_quality raises 42501 for a non-member');
select throws_ok($$ select * from public.list_alerts((select alpha from ids)) $$, '42501', null,
  'list_alerts raises 42501 for a non-member');
select throws_ok($$ select * from public.list_anomalies((select alpha from ids)) $$, '42501', null,
  'list_anomalies raises 42501 for a non-member');
select throws_ok($$ select * from public.anomaly_series_status((select alpha from ids)) $$, '42501', null,
  'anomaly_series_status raises 42501 for a non-member');
select throws_ok($$ select * from public.source_daily_rows((select alpha from ids)) $$, '42501', null,
  'source_daily_rows raises 42501 for a non-member');
select tests.clear_authentication();

-- ===== a member (viewer) =================================================================
select tests.authenticate_as((select alpha_member from ids));
select results_eq(format('select distinct shop_id from public.%I', name), 'select alpha from ids',
  'a member sees only their shop''s ' || name) from tables_under_test;
select is((select count(*)::integer from public.data_quality((select alpha from ids))), 1, 'data_quality answers a member');
select is((select count(*)::integer from public.list_alerts((select alpha from ids))), 1, 'list_alerts answers a member');
select is((select count(*)::integer from public.list_anomalies((select alpha from ids))), 1, 'list_anomalies answers a member');
select throws_ok($$ select * from public.data_quality((select beta from ids)) $$, '42501', null,
  'a member of alpha gets 42501 for beta');
select throws_ok($$ insert into public.data_sources (shop_id, source) select alpha, 'ga' from ids $$, '42501', null,
  'a member cannot insert data_sources');
select throws_ok($$ update public.alerts set delivery_status = 'delivered', delivered_at = now() $$, '42501', null,
  'a member cannot mark alerts delivered');
select throws_ok($$ delete from public.anomalies $$, '42501', null, 'a member cannot delete anomalies');
select throws_ok($$ insert into public.anomaly_settings (shop_id, series) select alpha, 'sessions' from ids $$, '42501', null,
  'a member cannot write anomaly settings directly');
select throws_ok($$ select public.configure_data_source((select alpha from ids), 'ga', p_warn_after_hours => 6) $$,
  '42501', null, 'a viewer cannot configure a data source');
select throws_ok($$ select private.run_quality_checks() $$, '42501', null, 'a member cannot run the check job');
select throws_ok($$ select * from private.claim_alerts() $$, '42501', null, 'a member cannot claim alerts');
select tests.clear_authentication();

-- ===== writers: an admin through the checked RPC, service_role directly =====================
select tests.authenticate_as(tests.user_id('admin@alpha.pgtap.test'));
select is((select warn_after from public.configure_data_source((select alpha from ids), 'ga', p_warn_after_hours => 6)),
  interval '6 hours', 'an admin configures a data source through the RPC');
select is((select expected_lag from public.data_sources where shop_id = (select alpha from ids) and source = 'ga'),
  interval '2 days', 'unset fields take the source kind''s default (GA lags 2 days)');
select throws_ok($$ select public.configure_data_source((select alpha from ids), 'ga', p_warn_after_hours => 50) $$,
  'OD003', null, 'warn after error is refused');
select throws_ok($$ select public.configure_data_source((select beta from ids), 'ga') $$, '42501', null,
  'an admin of alpha cannot configure beta');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select lives_ok($$ insert into public.data_sources (shop_id, source) select beta, 'ga' from ids $$,
  'service_role writes data_sources');
select lives_ok($$ select private.run_quality_checks() $$, 'service_role runs the check job');
select tests.clear_authentication();

select * from finish();
rollback;
