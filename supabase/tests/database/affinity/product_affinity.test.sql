-- product_affinity and its state tables: RLS (anon, non-member, member, writer) and the basket
-- edge cases: single-item orders, refunds, cancelled and test orders, duplicate lines, a product
-- bought in every order (lift 1, conviction infinite / undefined), an empty shop.
begin;
select plan(45);

select tests.create_shop('alpha.myshopify.com');
select tests.create_shop('beta.myshopify.com');
select tests.create_shop('empty.myshopify.com');
select tests.create_user('member@alpha.test');
select tests.create_user('stranger@nowhere.test');
select tests.add_member((select id from public.shops where domain = 'alpha.myshopify.com'),
                        (select id from auth.users where email = 'member@alpha.test'), 'viewer');

create temporary table ids on commit drop as
  select (select id from auth.users where email = 'member@alpha.test') as member,
         (select id from auth.users where email = 'stranger@nowhere.test') as stranger,
         (select id from public.shops where domain = 'alpha.myshopify.com') as alpha,
         (select id from public.shops where domain = 'beta.myshopify.com') as beta,
         (select id from public.shops where domain = 'empty.myshopify.com') as empty;
grant select on ids to anon, authenticated, service_role;

insert into public.products (shop_id, id, title, handle, price)
select s, p, 'P' || p, 'p-' || p, 10 from ids, unnest(array[alpha, beta]) s, generate_series(1, 5) p;

-- alpha: product 1 is in every qualifying order
insert into public.shopify_orders (shop_id, id, created_at, cancelled_at, is_test, currency, subtotal, total)
select alpha, o, timestamptz '2026-10-30 12:00+00',
       case when o = 7 then timestamptz '2026-10-30 13:00+00' end, o = 6, 'USD', 10, 10
from ids, generate_series(1, 10) o;
insert into public.shopify_order_lines (shop_id, order_id, line_id, product_id, quantity, current_quantity, unit_price, discounted_total)
select alpha, l.o, l.line, l.p, 1, l.q, 10, 10
from ids, (values
  (1, 11, 1, 1), (1, 12, 2, 1),
  (2, 21, 1, 1), (2, 22, 2, 1),
  (3, 31, 1, 1), (3, 32, 2, 1), (3, 33, 2, 1),      -- duplicate line of product 2
  (4, 41, 1, 1),                                    -- single-item order
  (5, 51, 1, 1), (5, 52, 3, 1),
  (6, 61, 1, 1), (6, 62, 2, 1),                     -- test order
  (7, 71, 1, 1), (7, 72, 2, 1),                     -- cancelled order
  (8, 81, 1, 1), (8, 82, 2, 1), (8, 83, 3, 0),      -- product 3 refunded
  (9, 91, 1, 1), (9, 92, 4, 1), (9, 93, 5, 1),
  (10, 101, 1, 1), (10, 102, 4, 1), (10, 103, 5, 1)
) as l(o, line, p, q);

-- beta: another tenant's rules
insert into public.shopify_orders (shop_id, id, created_at, currency, subtotal, total)
select beta, o, timestamptz '2026-10-30 12:00+00', 'USD', 10, 10 from ids, generate_series(1, 3) o;
insert into public.shopify_order_lines (shop_id, order_id, line_id, product_id, quantity, current_quantity, unit_price, discounted_total)
select beta, o, o * 10 + p, p, 1, 1, 10, 10 from ids, generate_series(1, 3) o, generate_series(1, 2) p;

-- ---- the writer: service_role refreshes -------------------------------------------------
select tests.authenticate_as_service_role();
select lives_ok($$ select private.refresh_affinity((select alpha from ids), p_min_count => 1, p_as_of => '2026-11-01') $$,
  'service_role refreshes a shop');
select lives_ok($$ select private.refresh_affinity((select beta from ids), p_min_count => 1, p_as_of => '2026-11-01') $$,
  'service_role refreshes another shop');
select is((private.refresh_affinity((select empty from ids), p_as_of => '2026-11-01')) -> 'windows' -> 0 ->> 'n_orders', '0',
  'an empty shop refreshes to zero orders');
select tests.clear_authentication();

-- ---- edge cases (as the owner) -------------------------------------------------------------
create temporary table rules on commit drop as
  select * from public.product_affinity where shop_id = (select alpha from ids);

select is((select distinct n_orders from rules), 8,
  'N counts every qualifying order, the single-item one included; test and cancelled orders not');
select is((select n_together from rules where product_id = 1 and other_product_id = 2), 4,
  'a duplicate line counts its order once; the refunded line''s order still pairs 1 and 2');
select is((select n_other from rules where product_id = 1 and other_product_id = 3), 1,
  'a refunded line leaves its basket');
select is((select lift from rules where product_id = 2 and other_product_id = 1), 1::float8,
  'a product in every order: lift 1');
select is((select confidence from rules where product_id = 2 and other_product_id = 1), 1::float8,
  'a product in every order: confidence 1 into it');
select is((select conviction_kind from rules where product_id = 2 and other_product_id = 1), 'undefined',
  'into a product in every order, conviction is 0/0: undefined');
select ok((select conviction is null from rules where product_id = 2 and other_product_id = 1),
  'an undefined conviction is stored as NULL');
select is((select conviction from rules where product_id = 1 and other_product_id = 2), 1::float8,
  'from a product in every order, conviction is 1');
select is((select conviction_kind from rules where product_id = 4 and other_product_id = 5), 'infinite',
  'a rule that never fails has infinite conviction');
select ok((select conviction is null from rules where product_id = 4 and other_product_id = 5),
  'an infinite conviction is stored as NULL (valid JSON)');
select is((select count(*)::int from rules where product_id = other_product_id), 0, 'no product is paired with itself');
select is((select count(*)::int from public.product_affinity where shop_id = (select empty from ids)), 0,
  'an empty shop has no rules');
select is((select n_orders from private.affinity_windows where shop_id = (select empty from ids)), 0,
  'an empty shop''s window holds zero orders');

-- refunding the last pair of 4 and 5 in one order removes it from the next refresh
update public.shopify_order_lines set current_quantity = 0 where shop_id = (select alpha from ids) and line_id = 103;
select ok(exists (select 1 from private.affinity_dirty_orders where shop_id = (select alpha from ids) and order_id = 10),
  'a refund marks its order for the next refresh');
select is((private.refresh_affinity((select alpha from ids), p_as_of => '2026-11-01')) ->> 'mode', 'incremental',
  'the next refresh is incremental');
select is((select n_together from public.product_affinity
           where shop_id = (select alpha from ids) and product_id = 4 and other_product_id = 5), 1,
  'the refund is counted');

-- ---- anon -----------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.product_affinity', '42501', null, 'anon cannot read product_affinity');
select throws_ok('select count(*) from private.affinity_pair_totals', '42501', null, 'anon cannot read pair totals');
select throws_ok('select count(*) from private.affinity_product_totals', '42501', null, 'anon cannot read product totals');
select throws_ok($$ select * from public.frequently_bought_with((select alpha from ids), 1) $$, '42501', null,
  'anon cannot call frequently_bought_with');
select tests.clear_authentication();

-- ---- non-member -----------------------------------------------------------------------------
select tests.authenticate_as((select stranger from ids));
select is_empty('select 1 from public.product_affinity', 'a non-member sees no rules');
select is_empty('select 1 from private.affinity_windows', 'a non-member sees no windows');
select is_empty('select 1 from private.affinity_product_totals', 'a non-member sees no product totals');
select throws_ok($$ select * from public.frequently_bought_with((select alpha from ids), 1) $$, '42501', null,
  'a non-member gets 42501 from frequently_bought_with, not an empty answer');
select throws_ok($$ select * from public.recommend_for_cart((select alpha from ids), '{1}') $$, '42501', null,
  'a non-member gets 42501 from recommend_for_cart');
select tests.clear_authentication();

-- ---- member ---------------------------------------------------------------------------------
select tests.authenticate_as((select member from ids));
select results_eq('select distinct shop_id from public.product_affinity', 'select alpha from ids',
  'a member sees only their shop''s rules');
select results_eq('select distinct shop_id from private.affinity_pair_totals', 'select alpha from ids',
  'a member sees only their shop''s pair totals');
select results_eq('select distinct shop_id from private.affinity_product_totals', 'select alpha from ids',
  'a member sees only their shop''s product totals');
select isnt_empty($$ select * from public.frequently_bought_with((select alpha from ids), 1) $$,
  'a member gets recommendations');
select throws_ok('select count(*) from private.affinity_baskets', '42501', null,
  'a member cannot read the stored baskets');
select throws_ok('select count(*) from private.affinity_products', '42501', null,
  'a member cannot read the basket product numbers');
select throws_ok('select count(*) from private.affinity_index_pairs', '42501', null,
  'a member cannot read the index pairs');
select throws_ok($$ insert into private.affinity_pair_totals values ((select alpha from ids), 365, 1, 3, 99) $$,
  '42501', null, 'a member cannot write pair totals');
select throws_ok($$ update private.affinity_product_totals set n_orders = 99 $$,
  '42501', null, 'a member cannot write product totals');
select throws_ok('delete from private.affinity_windows', '42501', null, 'a member cannot delete windows');
select throws_ok($$ select private.refresh_affinity((select alpha from ids)) $$, '42501', null,
  'a member cannot run the refresh');
select tests.clear_authentication();

select is((select count(*)::int from private.affinity_pair_totals where shop_id = (select alpha from ids)
           and product_id = 1 and other_product_id = 3), 1, 'the member''s attempted writes changed nothing');
select is((select n_orders from private.affinity_product_totals where shop_id = (select alpha from ids)
           and window_days = 365 and product_id = 1), 8, 'product totals: product 1 is in all 8 qualifying orders');
select is((select count(*)::int from private.affinity_pair_totals where product_id = other_product_id), 0,
  'pair totals hold pairs only (a product''s own count is a product total)');
select is((select count(*)::int from private.affinity_pair_totals t
           join private.affinity_products a on a.shop_id = t.shop_id and a.product_id = t.product_id
           join private.affinity_products o on o.shop_id = t.shop_id and o.product_id = t.other_product_id
           where t.shop_id = (select alpha from ids) and a.product_no > o.product_no), 0,
  'a pair is stored with its lower-numbered product first');
select is((select product_no from private.affinity_products where shop_id = (select alpha from ids) and product_id = 1), 1,
  'the most bought product is number 1');
select results_eq(
  $$ select product_id, other_product_id, n_together::bigint, n_product::bigint, n_other::bigint, n_orders::bigint
     from public.product_affinity
     where shop_id = (select alpha from ids) and window_days = 365 order by 1, 2 $$,
  $$ select product_id, other_product_id, n_together, n_product, n_other, n_orders
     from private.affinity_rules_of_baskets((select alpha from ids), 365, 1, '2026-11-01') order by 1, 2 $$,
  'the rules recomputed from the stored baskets are the served rules');

select * from finish();
rollback;
