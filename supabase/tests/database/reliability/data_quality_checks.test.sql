-- Quality checks: every status boundary (exactly at a threshold is still the lower status),
-- grey cases (nothing is green by default), worst-of per source, new sources get defaults.
begin;
select plan(40);

create temporary table q on commit drop as
  select tests.create_shop('quality.myshopify.com') as shop, timestamptz '2026-06-10 12:00:00+00' as now;

-- a succeeded run of `source` finishing `age` before q.now
create function pg_temp.synced(p_source text, p_age interval, p_rows integer default 10, p_data_at timestamptz default null)
returns void language sql as $$
  insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at)
  select q.shop, p_source, q.now - p_age - interval '1 minute', q.now - p_age, 'succeeded', p_rows, p_data_at from q
$$;
create function pg_temp.source(p_source text) returns public.data_sources language sql as $$
  select d.* from public.data_sources d, q where d.shop_id = q.shop and d.source = p_source
$$;
create function pg_temp.check_status(p_check public.data_quality_checks) returns text language sql as $$
  select p_check.status
$$;

-- ===== the status function =========================================================
select is(private.quality_status(24, 24, 48), 'green', 'exactly at warn is still green');
select is(private.quality_status(24.0001, 24, 48), 'yellow', 'just beyond warn is yellow');
select is(private.quality_status(48, 24, 48), 'yellow', 'exactly at error is still yellow');
select is(private.quality_status(48.0001, 24, 48), 'red', 'just beyond error is red');
select is(private.quality_status(null, 24, 48), 'grey', 'nothing measured is grey, never green');

-- ===== sync freshness ================================================================
insert into public.data_sources (shop_id, source) select shop, 'fresh24' from q;
select pg_temp.synced('fresh24', interval '24 hours');
select is(pg_temp.check_status(private.check_sync_freshness(pg_temp.source('fresh24'), (select now from q))),
  'green', 'a sync exactly 24 h old is green (warn 24 h)');
select is(pg_temp.check_status(private.check_sync_freshness(pg_temp.source('fresh24'), (select now + interval '1 second' from q))),
  'yellow', 'one second later it is yellow');
select is(pg_temp.check_status(private.check_sync_freshness(pg_temp.source('fresh24'), (select now + interval '24 hours' from q))),
  'yellow', 'exactly 48 h old is still yellow (error 48 h)');
select is(pg_temp.check_status(private.check_sync_freshness(pg_temp.source('fresh24'), (select now + interval '24 hours 1 second' from q))),
  'red', 'one second past 48 h is red');
select is((private.check_sync_freshness(pg_temp.source('fresh24'), (select now + interval '24 hours 1 second' from q))).threshold_error,
  48::numeric, 'the threshold is recorded with the check');
select matches((private.check_sync_freshness(pg_temp.source('fresh24'), (select now from q))).message,
  '^Last successful fresh24 sync finished 24\.0 hours ago \(yellow after 24\.0 hours, red after 48\.0 hours\)\.$',
  'the message says what was observed and the thresholds');

insert into public.data_sources (shop_id, source) select shop, 'neversynced' from q;
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, error)
  select shop, 'neversynced', now - interval '2 hours', now - interval '1 hour', 'failed', 'token expired' from q;
select is(pg_temp.check_status(private.check_sync_freshness(pg_temp.source('neversynced'), (select now from q))),
  'grey', 'a source that never synced successfully is grey');
select matches((private.check_sync_freshness(pg_temp.source('neversynced'), (select now from q))).message,
  'No successful neversynced sync yet\. Failed since then', 'and the message mentions the failed attempt');

-- ===== data recency, with the source's expected lag ====================================
-- GSC: lag 3 days + warn 24 h = 96 h
select public.configure_data_source((select shop from q), 'gsc');
insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position)
  select shop, date '2026-06-05', '/', 5, 100, 0.05, 3 from q;
-- data through = end of 2026-06-05 Pacific = 2026-06-06 07:00 UTC
select is((private.check_data_recency(pg_temp.source('gsc'), timestamptz '2026-06-10 07:00:00+00')).status,
  'green', 'GSC data exactly lag + warn (96 h) old is green');
select is((private.check_data_recency(pg_temp.source('gsc'), timestamptz '2026-06-10 07:00:01+00')).status,
  'yellow', 'one second later it is yellow');
select is((private.check_data_recency(pg_temp.source('gsc'), timestamptz '2026-06-11 07:00:00+00')).status,
  'yellow', 'exactly lag + error (120 h) is still yellow');
select is((private.check_data_recency(pg_temp.source('gsc'), timestamptz '2026-06-11 07:00:01+00')).status,
  'red', 'beyond lag + error is red');
select is((private.check_data_recency(pg_temp.source('neversynced'), (select now from q))).status,
  'grey', 'no data at all is grey');

-- ===== volume: today so far vs the same weekday, same time of day ======================
insert into public.data_sources (shop_id, source) select shop, 'vol' from q;
-- 4 previous Wednesdays (q.now is a Wednesday, 12:00 UTC) loaded 100 rows each at 06:00
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded)
  select shop, 'vol', now - make_interval(days => 7 * k, hours => 6), now - make_interval(days => 7 * k, hours => 6)
         + interval '1 minute', 'succeeded', 100
  from q, generate_series(1, 4) k;
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded)
  select shop, 'vol', now - interval '6 hours', now - interval '6 hours' + interval '1 minute', 'succeeded', 50 from q;
select is((private.check_volume(pg_temp.source('vol'), (select now from q))).status,
  'green', 'exactly half the usual volume is still green');
update public.sync_runs set rows_loaded = 49 where source = 'vol' and started_at = (select now - interval '6 hours' from q);
select is((private.check_volume(pg_temp.source('vol'), (select now from q))).status,
  'yellow', 'below half is yellow');
update public.sync_runs set rows_loaded = 20 where source = 'vol' and started_at = (select now - interval '6 hours' from q);
select is((private.check_volume(pg_temp.source('vol'), (select now from q))).status,
  'yellow', 'exactly a fifth is still yellow');
update public.sync_runs set rows_loaded = 19 where source = 'vol' and started_at = (select now - interval '6 hours' from q);
select is((private.check_volume(pg_temp.source('vol'), (select now from q))).status,
  'red', 'below a fifth is red');
select is((private.check_volume(pg_temp.source('vol'), (select now - interval '7 hours' from q))).status,
  'green', 'before the usual load time nothing is expected yet');
-- only one comparable week: the source is new
insert into public.data_sources (shop_id, source) select shop, 'newvol' from q;
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded)
  select shop, 'newvol', now - interval '8 days', now - interval '8 days' + interval '1 minute', 'succeeded', 100 from q;
select is((private.check_volume(pg_temp.source('newvol'), (select now from q))).status,
  'grey', 'with fewer than 2 comparable weeks volume is grey');
select is((private.check_volume(pg_temp.source('neversynced'), (select now from q))).status,
  'grey', 'a source that never synced has no volume to judge: grey');

-- ===== validity: real rows that break the rules that can fire ==========================
select public.configure_data_source((select shop from q), 'shopify');
insert into public.shopify_orders (shop_id, id, created_at, processed_at, currency, subtotal, total)
  select shop, n, now() - interval '1 day', now() - interval '1 day', 'USD', 10, 10 from q, generate_series(1, 100) n;
select is((private.check_validity(pg_temp.source('shopify'), now())).status, 'green', 'clean orders are green');
update public.shopify_orders set total = -5 where id = 1;
select is((private.check_validity(pg_temp.source('shopify'), now())).status,
  'yellow', 'one invalid order in 100 (exactly 1%) is yellow');
select matches((private.check_validity(pg_temp.source('shopify'), now())).message,
  '1 of 100 orders with a negative subtotal, total or refunded amount', 'the message names the rule and counts');
update public.shopify_orders set processed_at = null where id = 2;
select is((private.check_validity(pg_temp.source('shopify'), now())).status,
  'yellow', 'two rules each at 1% stay yellow (worst rule, not the sum)');
update public.shopify_orders set total_refunded = 50 where id = 3;
update public.shopify_orders set total = -1 where id = 4;
select is((private.check_validity(pg_temp.source('shopify'), now())).status,
  'red', 'more than 1% invalid under one rule is red');
insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position)
  select shop, current_date - 1, '/bad', 5, 4, 1.25, 3 from q;
select is((private.check_validity(pg_temp.source('gsc'), now())).status, 'red',
  'a CTR above 1 (and more clicks than impressions) in one of two GSC rows is red');
insert into public.data_sources (shop_id, source) select shop, 'events' from q;
insert into public.events (shop_id, event_id, occurred_at, person_id, session_id, event_name, page)
  select shop, 'e' || n, now() - interval '1 hour', 'p1', 's1', 'page_view', '/x' from q, generate_series(1, 2) n;
select is((private.check_validity(pg_temp.source('events'), now())).status, 'red',
  'the same page view under two event ids is a duplicate natural key');
select is((private.check_validity(pg_temp.source('fresh24'), now())), null::public.data_quality_checks,
  'a source without validity rules gets no validity check');
delete from public.shopify_orders;
select is((private.check_validity(pg_temp.source('shopify'), now())).status, 'grey',
  'no recent rows to validate is grey');

-- ===== the job: worst of the checks, new sources get defaults ==========================
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded)
  select shop, 'brand_new_feed', now() - interval '1 hour', now() - interval '50 minutes', 'succeeded', 5 from q;
select lives_ok($$ select private.run_quality_checks(now(), (select shop from q)) $$, 'the check job runs');
select results_eq(
  $$ select warn_after, error_after, expected_lag, is_auto_configured from public.data_sources
     where source = 'brand_new_feed' and shop_id = (select shop from q) $$,
  $$ values (interval '24 hours', interval '48 hours', interval '0', true) $$,
  'a source seen only in sync_runs is configured with the defaults');
select is((select status from pg_temp.source('brand_new_feed')), 'grey',
  'fresh but with no volume history: the worst check (grey) wins over green');
select is((select status from pg_temp.source('neversynced')), 'grey',
  'a source that never synced is grey');
select is(
  (select count(distinct check_name)::integer from public.data_quality_checks
    where source = 'shopify' and shop_id = (select shop from q)
      and checked_at = (select last_checked_at from pg_temp.source('shopify'))),
  4, 'shopify records all four checks');
select is((select status from pg_temp.source('gsc')), 'red',
  'gsc is red: its worst check (validity) is red');

select * from finish();
rollback;
