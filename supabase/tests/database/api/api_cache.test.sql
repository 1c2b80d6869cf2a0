-- private.api_cache: RLS on; anon and app users cannot read, write or call its functions;
-- service_role (jobs) can; the purge job is registered.
begin;
select plan(9);

select tests.create_user('member@cache.test');
select tests.create_shop('cache.myshopify.com');
select tests.add_member((select id from public.shops where domain = 'cache.myshopify.com'),
                        (select id from auth.users where email = 'member@cache.test'), 'admin');
insert into private.api_cache (key, endpoint, shop_ids, data, expires_at)
values (private.api_cache_key('m', '{}'), '/api/data/shops', '{}', '[]', now() + interval '5 minutes');

create temporary table ids on commit drop as
  select (select id from auth.users where email = 'member@cache.test') as member;
grant select on ids to anon, authenticated, service_role;

select ok((select relrowsecurity from pg_class where oid = 'private.api_cache'::regclass), 'RLS is on');

select tests.authenticate_as_anon();
select throws_ok('select count(*) from private.api_cache', '42501', null, 'anon cannot read the cache');
select throws_ok($$ select * from private.api_cache_get('m', '{}') $$, '42501', null,
  'anon cannot call api_cache_get');
select tests.clear_authentication();

select tests.authenticate_as((select member from ids));
select throws_ok('select count(*) from private.api_cache', '42501', null, 'a member (even admin) cannot read the cache');
select throws_ok($$ delete from private.api_cache $$, '42501', null, 'a member cannot delete cache entries');
select throws_ok($$ select * from private.api_cache_put('m', '{}', 'x', '[]', 0, null, 300) $$,
  '42501', null, 'a member cannot write cache entries');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select is((select count(*) from private.api_cache where key = private.api_cache_key('m', '{}'))::int, 1, 'service_role reads the cache');
select is((select data from private.api_cache_get('m', '{}')), '[]', 'service_role calls api_cache_get');
select tests.clear_authentication();

select is((select command from private.jobs where name = 'purge_api_cache'), 'private.purge_api_cache()',
  'the purge job is registered');

select * from finish();
rollback;
