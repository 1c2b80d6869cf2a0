-- baseline_metrics, baseline_for and list_baselines: the table's tenancy contract, non-members
-- get 42501 from the RPCs, members get their shop's baselines; windows end at the
-- newest final Search Console day and missing days count as zeros.
begin;
select plan(29);

select tests.create_two_shops('viewer');

-- 30 days ago .. yesterday: final up to 3 days ago; one page has clicks only every 3rd day
insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)
select s, current_date - d, 'https://alpha.example/p', 3, 30, 0.1, 4, d >= 3
from ids, unnest(array[alpha, beta]) s, generate_series(1, 30) d
where d % 3 = 0;
insert into public.ga_page_daily (shop_id, date, page, sessions, engaged_sessions, key_events, transactions, purchase_revenue)
select alpha, current_date - d, '/p', 10, 5, 1, 1, 25 from ids, generate_series(1, 30) d;

select tests.authenticate_as_service_role();
select lives_ok($$ select private.refresh_baselines((select alpha from ids)) $$, 'service_role refreshes baselines');
select lives_ok($$ select private.refresh_baselines((select beta from ids)) $$, 'service_role refreshes another shop');
select tests.clear_authentication();

select is((select window_end from public.baseline_metrics
           where shop_id = (select alpha from ids) and page = '/p' and metric = 'clicks'),
  current_date - 3, 'the Search Console window ends at the newest final day, not now');
select is((select window_end from public.baseline_metrics
           where shop_id = (select alpha from ids) and page = '/p' and metric = 'sessions'),
  current_date - 2, 'the GA4 window ends two days before today');
select is((select array[days_in_window, days_observed]::int[] from public.baseline_metrics
           where shop_id = (select alpha from ids) and page = '/p' and metric = 'ctr'),
  array[28, 10], 'ctr is defined on the 10 days with impressions of the 28 in its window');
select is((select mean from public.baseline_metrics
           where shop_id = (select alpha from ids) and page = '/p' and metric = 'clicks'),
  30 / 28::float8, 'days without rows are zero clicks');
select is((select window_value from public.baseline_metrics
           where shop_id = (select alpha from ids) and page = '*' and metric = 'aov'),
  25::float8, 'the site''s AOV is revenue over transactions');

-- ---- the table's tenancy contract (tests.check_shop_table) --------------------------------
select tests.check_shop_table('public.baseline_metrics',
  $$ insert into public.baseline_metrics (shop_id, page, metric, source, window_start, window_end, days_in_window,
       days_observed, dow_profile)
     select alpha, '/pgtap-new', 'clicks', 'gsc', current_date - 10, current_date - 1, 10, 10,
       array_fill(0::float8, array[7]) from ids $$,
  $$ page = '/pgtap-new' $$);

-- ---- the RPCs: anon -----------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$ select * from public.baseline_for((select alpha from ids), '/p', 'ctr') $$, '42501', null,
  'anon cannot call baseline_for');
select tests.clear_authentication();

-- ---- non-member -----------------------------------------------------------------------------
select tests.authenticate_as((select stranger from ids));
select throws_ok($$ select * from public.baseline_for((select alpha from ids), '/p', 'ctr') $$, '42501', null,
  'a non-member gets 42501 from baseline_for');
select throws_ok($$ select * from public.list_baselines((select alpha from ids)) $$, '42501', null,
  'a non-member gets 42501 from list_baselines');
select tests.clear_authentication();

-- ---- member ---------------------------------------------------------------------------------
select tests.authenticate_as((select alpha_member from ids));
select is((select count(*)::int from public.baseline_for((select alpha from ids), '/p')), 9,
  'a member gets every metric of a page on demand');
select is((select count(*)::int from public.list_baselines((select alpha from ids), p_page => '*')), 9,
  'a member lists the site''s baselines');
select throws_ok($$ select private.refresh_baselines((select alpha from ids)) $$, '42501', null,
  'a member cannot run the refresh');
select tests.clear_authentication();

select is((select count(*)::int from public.baseline_metrics where shop_id = (select alpha from ids)), 18,
  'the member''s attempted writes changed nothing');

select * from finish();
rollback;
