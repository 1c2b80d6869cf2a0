-- chatwoot_exports, chatwoot_export_slices: anon denied, non-members see nothing, members see
-- only their shop, only service_role writes; an object version is registered once.
begin;
select plan(17);

select tests.create_two_shops('admin');

-- one export with one slice per shop, written as the pipeline writes them
select tests.authenticate_as_service_role();
select lives_ok($$
  insert into public.etl_runs (shop_id, source) select s, 'chatwoot' from ids, unnest(array[alpha, beta]) s;
  insert into public.chatwoot_exports (shop_id, export_id, bucket, object_key, version_id, etag, etl_run_id,
    status, n_slices)
  select r.shop_id, md5(r.shop_id::text), 'data', 'exports/chatwoot/' || s.domain || '/export.json', 'v1', 'e1', r.id,
    'processing', 1
  from public.etl_runs r join public.shops s on s.id = r.shop_id;
  insert into public.chatwoot_export_slices (export_id, shop_id, start_index, end_index)
  select id, shop_id, 0, 250 from public.chatwoot_exports;
$$, 'service_role writes exports and slices');
select tests.clear_authentication();

select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.chatwoot_exports', '42501', null, 'anon cannot read exports');
select throws_ok('select count(*) from public.chatwoot_export_slices', '42501', null, 'anon cannot read slices');
select tests.clear_authentication();

select tests.authenticate_as((select stranger from ids));
select is_empty('select 1 from public.chatwoot_exports', 'a non-member sees no export');
select is_empty('select 1 from public.chatwoot_export_slices', 'a non-member sees no slice');
select tests.clear_authentication();

select tests.authenticate_as((select alpha_member from ids));
select results_eq('select shop_id from public.chatwoot_exports', 'select alpha from ids',
  'a member sees own exports only');
select results_eq('select shop_id from public.chatwoot_export_slices', 'select alpha from ids',
  'a member sees own slices only');
select throws_ok($$ update public.chatwoot_exports set status = 'succeeded' $$, '42501', null,
  'even an admin member cannot change an export');
select throws_ok($$ insert into public.chatwoot_export_slices (export_id, shop_id, start_index, end_index)
    select e.id, e.shop_id, 250, 500 from public.chatwoot_exports e $$, '42501', null,
  'a member cannot add slices');
select throws_ok('delete from public.chatwoot_export_slices', '42501', null, 'a member cannot delete slices');
select tests.clear_authentication();

select throws_ok($$ insert into public.chatwoot_exports (shop_id, export_id, bucket, object_key, version_id, etag,
    etl_run_id) select shop_id, md5('other'), 'data', 'exports/chatwoot/alpha.pgtap.test/export.json', 'v1', 'e1', id
    from public.etl_runs where shop_id = (select alpha from ids) $$,
  '23505', null, 'an object version is registered once');
select throws_ok($$ update public.chatwoot_exports set status = 'failed', finished_at = now()
    where shop_id = (select alpha from ids) $$,
  '23514', null, 'a failed export says why');
select throws_ok($$ update public.chatwoot_exports set status = 'succeeded'
    where shop_id = (select alpha from ids) $$,
  '23514', null, 'a finished export has its finish time');
select throws_ok($$ update public.chatwoot_export_slices set end_index = 0 $$,
  '23514', null, 'a slice holds at least one record');
select throws_ok($$ update public.chatwoot_export_slices set status = 'failed' $$,
  '23514', null, 'a failed slice says why');
select lives_ok($$ delete from public.etl_runs where shop_id = (select alpha from ids) $$,
  'deleting the run (as the owner) cascades');
select is((select count(*)::int from public.chatwoot_export_slices where shop_id = (select alpha from ids)), 0,
  'its export and slices went with it');

select * from finish();
rollback;
