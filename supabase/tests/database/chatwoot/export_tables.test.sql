-- chatwoot_exports, chatwoot_export_slices: the tenancy contract (anon denied, non-members see
-- nothing, members see only their shop, only service_role writes); an object version is
-- registered once.
begin;
select plan(38);

select tests.create_two_shops('admin');

-- one export with one slice per shop, written as the pipeline writes them
select tests.authenticate_as_service_role();
select lives_ok($$
  insert into public.etl_runs (shop_id, source) select s, 'chatwoot' from ids, unnest(array[alpha, beta]) s;
  insert into public.chatwoot_exports (shop_id, export_id, bucket, object_key, version_id, etag, etl_run_id,
    status, n_slices)
  select r.shop_id, md5(r.shop_id::text), 'data', 'exports/chatwoot/' || s.domain || '/export.json', 'v1', 'e1', r.id,
    'processing', 1
  from public.etl_runs r join public.shops s on s.id = r.shop_id, ids where r.shop_id in (alpha, beta);
  insert into public.chatwoot_export_slices (export_id, shop_id, start_index, end_index)
  select id, shop_id, 0, 250 from public.chatwoot_exports, ids where shop_id in (alpha, beta);
$$, 'service_role writes exports and slices');
select tests.clear_authentication();

-- each shop's run and export, readable by the API roles (the new rows below refer to alpha's);
-- only the test's shops: the database may hold other runs (`make demo` loads the demo shop's)
create temporary table made on commit drop as
  select e.shop_id, e.etl_run_id as run_id, e.id as export_id from public.chatwoot_exports e, ids
  where e.shop_id in (alpha, beta);
grant select on made to anon, authenticated, service_role;

-- ===== the tenancy contract, table by table (tests.check_shop_table) =======================
select tests.check_shop_table('public.chatwoot_exports',
  $$ insert into public.chatwoot_exports (shop_id, export_id, bucket, object_key, version_id, etag, etl_run_id)
     select shop_id, md5('pgtap-new'), 'data', 'exports/chatwoot/new.json', 'v1', 'e1', run_id
     from made where shop_id = (select alpha from ids) $$,
  $$ export_id = md5('pgtap-new') $$);

select tests.check_shop_table('public.chatwoot_export_slices',
  $$ insert into public.chatwoot_export_slices (export_id, shop_id, start_index, end_index)
     select export_id, shop_id, 250, 500 from made where shop_id = (select alpha from ids) $$,
  'start_index = 250');

-- ===== constraints ========================================================================
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
select throws_ok($$ update public.chatwoot_export_slices set end_index = 0 where shop_id = (select alpha from ids) $$,
  '23514', null, 'a slice holds at least one record');
select throws_ok($$ update public.chatwoot_export_slices set status = 'failed' where shop_id = (select alpha from ids) $$,
  '23514', null, 'a failed slice says why');
select lives_ok($$ delete from public.etl_runs where shop_id = (select alpha from ids) $$,
  'deleting the run (as the owner) cascades');
select is((select count(*)::int from public.chatwoot_export_slices where shop_id = (select alpha from ids)), 0,
  'its export and slices went with it');

select * from finish();
rollback;
