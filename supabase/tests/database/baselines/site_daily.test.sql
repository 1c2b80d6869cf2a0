-- gsc_site_daily and ga_site_daily: the site's daily sums equal a fresh aggregate of the landing
-- tables after inserts, upserts (the loaders' insert .. on conflict do update), updates that move
-- rows to another day, deletes, a day losing its last page and a shop's removal; tenancy contract.
begin;
select plan(46);

select tests.create_two_shops('viewer');

create temporary view gsc_fresh as
  select shop_id, date, count(*)::integer as page_rows, sum(clicks) as clicks, sum(impressions) as impressions,
         sum(position * impressions) as position_weighted
  from public.gsc_page_daily group by shop_id, date;
create temporary view ga_fresh as
  select shop_id, date, count(*)::integer as page_rows, sum(sessions) as sessions, sum(transactions) as transactions,
         sum(purchase_revenue) as purchase_revenue
  from public.ga_page_daily group by shop_id, date;

create function pg_temp.rollups_match(p_step text) returns setof text language plpgsql as $$
begin
  return next results_eq(
    'select * from public.gsc_site_daily order by shop_id, date',
    'select * from gsc_fresh order by shop_id, date',
    'gsc_site_daily equals a fresh aggregate ' || p_step);
  return next results_eq(
    'select * from public.ga_site_daily order by shop_id, date',
    'select * from ga_fresh order by shop_id, date',
    'ga_site_daily equals a fresh aggregate ' || p_step);
end
$$;

-- 20 days x 6 pages in both shops (several statements, as the loaders write batches)
insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)
select s, date '2026-10-01' + d, 'https://shop.example/p' || p, d * p, 10 * d * p + 7, 0.1, 1 + (d * p) % 17 / 3.0, true
from ids, unnest(array[alpha, beta]) s, generate_series(0, 19) d, generate_series(1, 6) p;
insert into public.ga_page_daily (shop_id, date, page, sessions, engaged_sessions, key_events, transactions, purchase_revenue)
select s, date '2026-10-01' + d, '/p' || p, 5 * d + p, d, 0, (d + p) % 3, ((d + p) % 3) * 19.99
from ids, unnest(array[alpha, beta]) s, generate_series(0, 19) d, generate_series(1, 6) p;
select pg_temp.rollups_match('after inserts');
select is((select page_rows from public.gsc_site_daily where shop_id = (select alpha from ids) and date = '2026-10-05'),
  6, 'one rollup row sums the day''s six pages');

-- ---- the table's tenancy contract (tests.check_shop_table): a row of its own, then removed ----
select tests.check_shop_table('public.gsc_site_daily',
  $$ insert into public.gsc_site_daily (shop_id, date, page_rows, clicks, impressions, position_weighted)
     select alpha, date '1999-01-01', 1, 0, 0, 0 from ids $$,
  $$ date = '1999-01-01' $$);
select tests.check_shop_table('public.ga_site_daily',
  $$ insert into public.ga_site_daily (shop_id, date, page_rows, sessions, transactions, purchase_revenue)
     select alpha, date '1999-01-01', 1, 0, 0, 0 from ids $$,
  $$ date = '1999-01-01' $$);

-- ---- upserts: revised rows (GSC revises its last days) and new pages in one statement -----
insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)
select alpha, date '2026-10-15' + d, 'https://shop.example/p' || p, 100 + d, 1000 + p, 0.1, 2.5 + p, true
from ids, generate_series(0, 9) d, generate_series(5, 8) p
on conflict (shop_id, date, page) do update
  set clicks = excluded.clicks, impressions = excluded.impressions, position = excluded.position;
insert into public.ga_page_daily (shop_id, date, page, sessions, engaged_sessions, key_events, transactions, purchase_revenue)
select beta, date '2026-10-15' + d, '/p' || p, 50 + d, 1, 0, 2, 41.50
from ids, generate_series(0, 9) d, generate_series(5, 8) p
on conflict (shop_id, date, page) do update
  set sessions = excluded.sessions, transactions = excluded.transactions, purchase_revenue = excluded.purchase_revenue;
select pg_temp.rollups_match('after upserts (updates and new days in one statement)');

-- ---- updates: values, and rows moved to another day (its key) ------------------------------
update public.gsc_page_daily set clicks = clicks + 1, position = position + 0.125
where shop_id = (select beta from ids) and page like '%p2';
update public.ga_page_daily set date = date + 30
where shop_id = (select alpha from ids) and date = '2026-10-03';
select pg_temp.rollups_match('after updates moving rows to new days');
select ok(not exists (select 1 from public.ga_site_daily where shop_id = (select alpha from ids) and date = '2026-10-03'),
  'a day whose rows all moved away has no rollup row');

-- ---- deletes: some pages, then every page of a day ------------------------------------------
delete from public.gsc_page_daily where shop_id = (select alpha from ids) and page like '%p1';
delete from public.gsc_page_daily where shop_id = (select beta from ids) and date = '2026-10-07';
delete from public.ga_page_daily where date between '2026-10-10' and '2026-10-11';
select pg_temp.rollups_match('after deletes');
select ok(not exists (select 1 from public.gsc_site_daily where shop_id = (select beta from ids) and date = '2026-10-07'),
  'a day without page rows has no rollup row');

-- ---- the site's baseline reads the rollup: same as the sums of the pages --------------------
select tests.authenticate_as((select alpha_member from ids));
select is((select window_value from public.baseline_for((select alpha from ids), '*', 'clicks', date '2026-10-20', 30)),
  (select sum(clicks)::float8 from public.gsc_page_daily where shop_id = (select alpha from ids) and date <= '2026-10-20'),
  'the site''s clicks are the sum over every page');
select tests.clear_authentication();

-- ---- a shop's removal takes its rollup rows; the other shop's stay exact --------------------
select lives_ok($$ delete from public.shops where id = (select beta from ids) $$, 'a shop with landing rows can be removed');
select pg_temp.rollups_match('after a shop''s removal');
select ok(not exists (select 1 from public.gsc_site_daily where shop_id = (select beta from ids))
          and not exists (select 1 from public.ga_site_daily where shop_id = (select beta from ids)),
  'the removed shop has no rollup rows');

select * from finish();
rollback;
