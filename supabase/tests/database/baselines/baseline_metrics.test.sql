-- baseline_metrics, baseline_for and list_baselines: anon denied, non-member sees nothing and gets
-- 42501 from the RPCs, member sees own shop only, only service_role writes; windows end at the
-- newest final Search Console day and missing days count as zeros.
begin;
select plan(19);

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

-- ---- anon ---------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.baseline_metrics', '42501', null, 'anon cannot read baselines');
select throws_ok($$ select * from public.baseline_for((select alpha from ids), '/p', 'ctr') $$, '42501', null,
  'anon cannot call baseline_for');
select tests.clear_authentication();

-- ---- non-member -----------------------------------------------------------------------------
select tests.authenticate_as((select stranger from ids));
select is_empty('select 1 from public.baseline_metrics', 'a non-member sees no baselines');
select throws_ok($$ select * from public.baseline_for((select alpha from ids), '/p', 'ctr') $$, '42501', null,
  'a non-member gets 42501 from baseline_for');
select throws_ok($$ select * from public.list_baselines((select alpha from ids)) $$, '42501', null,
  'a non-member gets 42501 from list_baselines');
select tests.clear_authentication();

-- ---- member ---------------------------------------------------------------------------------
select tests.authenticate_as((select alpha_member from ids));
select results_eq('select distinct shop_id from public.baseline_metrics', 'select alpha from ids',
  'a member sees only their shop''s baselines');
select is((select count(*)::int from public.baseline_for((select alpha from ids), '/p')), 9,
  'a member gets every metric of a page on demand');
select is((select count(*)::int from public.list_baselines((select alpha from ids), p_page => '*')), 9,
  'a member lists the site''s baselines');
select throws_ok($$ update public.baseline_metrics set mean = 0 $$, '42501', null, 'a member cannot change baselines');
select throws_ok($$ delete from public.baseline_metrics $$, '42501', null, 'a member cannot delete baselines');
select throws_ok($$ select private.refresh_baselines((select alpha from ids)) $$, '42501', null,
  'a member cannot run the refresh');
select tests.clear_authentication();

select is((select count(*)::int from public.baseline_metrics where shop_id = (select alpha from ids)), 18,
  'the member''s attempted writes changed nothing');

select * from finish();
rollback;
