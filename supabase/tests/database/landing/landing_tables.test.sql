-- The source landing tables (migration landing_tables): every one gets the same tenancy
-- contract, checked by tests.check_shop_table (000-setup-test-helpers.sql); each TAP line names
-- its table. Given two shops with rows in every table and an admin member each (even an admin
-- may not write landing tables: loaders and jobs do, as service_role).
begin;
select plan(7 * 15);

select tests.create_two_shops('admin');

-- ===== rows in both shops (the same natural keys in each: keys are per shop) ============
insert into public.products (shop_id, id, title, handle, price, inventory)
select shop, 1, 'Mug', 'mug', 12.50, 3 from ids, unnest(array[alpha, beta]) shop
union all select alpha, 2, 'Gift card', 'gift-card', 25.00, null from ids;

insert into public.shopify_orders (shop_id, id, created_at, currency, subtotal, total)
select shop, 100, '2026-01-01 10:00+00', 'USD', 12.50, 12.50 from ids, unnest(array[alpha, beta]) shop;

insert into public.shopify_order_lines
  (shop_id, order_id, line_id, product_id, quantity, current_quantity, unit_price, discounted_total)
select shop, 100, 1000, 1, 1, 1, 12.50, 12.50 from ids, unnest(array[alpha, beta]) shop;

insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position)
select shop, '2026-01-01', '/products/mug', 3, 100, 0.03, 4.2 from ids, unnest(array[alpha, beta]) shop;

insert into public.ga_page_daily
  (shop_id, date, page, sessions, engaged_sessions, key_events, transactions, purchase_revenue)
select shop, '2026-01-01', '/products/mug', 40, 25, 3, 1, 12.50 from ids, unnest(array[alpha, beta]) shop;

insert into public.events (shop_id, event_id, occurred_at, person_id, session_id, event_name, page)
select shop, 'e1', '2026-01-01 10:00+00', 'p1', 's1', 'page_view', '/products/mug'
from ids, unnest(array[alpha, beta]) shop;

insert into public.sync_runs (shop_id, source, finished_at, status, rows_loaded)
select shop, 'shopify_orders', now(), 'succeeded', 1 from ids, unnest(array[alpha, beta]) shop;

-- ===== the contract, table by table =====================================================
select tests.check_shop_table('public.products',
  $$ insert into public.products (shop_id, id, title, handle, price) select alpha, 9001, 'New', 'new', 1 from ids $$,
  'id = 9001');

select tests.check_shop_table('public.shopify_orders',
  $$ insert into public.shopify_orders (shop_id, id, created_at, currency, subtotal, total)
     select alpha, 9001, now(), 'USD', 1, 1 from ids $$,
  'id = 9001');

select tests.check_shop_table('public.shopify_order_lines',
  $$ insert into public.shopify_order_lines
       (shop_id, order_id, line_id, product_id, quantity, current_quantity, unit_price, discounted_total)
     select alpha, 100, 9001, 1, 1, 1, 1, 1 from ids $$,
  'line_id = 9001');

select tests.check_shop_table('public.gsc_page_daily',
  $$ insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position)
     select alpha, '2026-01-02', '/new', 0, 1, 0, 9 from ids $$,
  $$ page = '/new' $$);

select tests.check_shop_table('public.ga_page_daily',
  $$ insert into public.ga_page_daily
       (shop_id, date, page, sessions, engaged_sessions, key_events, transactions, purchase_revenue)
     select alpha, '2026-01-02', '/new', 1, 0, 0, 0, 0 from ids $$,
  $$ page = '/new' $$);

select tests.check_shop_table('public.events',
  $$ insert into public.events (shop_id, event_id, occurred_at, person_id, session_id, event_name)
     select alpha, 'new', now(), 'p2', 's2', 'page_view' from ids $$,
  $$ event_id = 'new' $$);

select tests.check_shop_table('public.sync_runs',
  $$ insert into public.sync_runs (shop_id, source) select alpha, 'pgtap_new' from ids $$,
  $$ source = 'pgtap_new' $$);

select * from finish();
rollback;
