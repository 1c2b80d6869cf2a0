-- public.actions: the tenancy contract (tests.check_shop_table). App users change an action's
-- status only through public.set_action_status (see set_action_status.test.sql), never by
-- writing the table: even an admin holds no write grant.
begin;
select plan(15);

select tests.create_two_shops('admin');

insert into public.actions (shop_id, recommender, action_type, target_kind, target_ref)
select shop, 'seo_titles', 'rewrite_title', 'page', '/products/mug' from ids, unnest(array[alpha, beta]) shop;

select tests.check_shop_table('public.actions',
  $$ insert into public.actions (shop_id, recommender, action_type, target_kind, target_ref)
     select alpha, 'bundles', 'propose_bundle', 'product', 'pgtap-new' from ids $$,
  $$ target_ref = 'pgtap-new' $$);

select * from finish();
rollback;
