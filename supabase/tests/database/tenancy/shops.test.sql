-- shops and shop_members: anon denied, non-members see nothing, members see only their shops,
-- only service_role writes.
begin;
select plan(14);

select tests.create_two_shops('viewer');

select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.shops', '42501', null, 'anon cannot read shops');
select throws_ok('select count(*) from public.shop_members', '42501', null, 'anon cannot read shop_members');
select tests.clear_authentication();

select tests.authenticate_as((select stranger from ids));
select is_empty('select 1 from public.shops', 'a non-member sees no shop');
select is_empty('select 1 from public.shop_members', 'a non-member sees no membership');
select tests.clear_authentication();

select tests.authenticate_as((select alpha_member from ids));
select results_eq('select domain from public.shops', $$ values ('alpha.pgtap.test') $$,
  'a member sees exactly their shop');
select results_eq('select shop_id from public.shop_members', 'select alpha from ids',
  'a member sees the memberships of their shop only');
select throws_ok($$ insert into public.shops (domain, name) values ('gamma.myshopify.com', 'g') $$,
  '42501', null, 'a member cannot create shops');
select throws_ok('update public.shops set name = $$x$$', '42501', null, 'a member cannot rename shops');
select throws_ok($$ insert into public.shop_members (shop_id, user_id, role)
                    select alpha, stranger, 'admin' from ids $$,
  '42501', null, 'a member cannot add members');
select throws_ok('delete from public.shop_members', '42501', null, 'a member cannot remove members');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select lives_ok($$ insert into public.shops (domain, name) values ('gamma.myshopify.com', 'g') $$,
  'service_role creates shops');
select lives_ok($$ insert into public.shop_members (shop_id, user_id, role) select beta, stranger, 'operator' from ids $$,
  'service_role adds members');
select tests.clear_authentication();

select tests.authenticate_as((select stranger from ids));
select results_eq('select domain from public.shops', $$ values ('beta.pgtap.test') $$,
  'a new membership takes effect at once');
select tests.clear_authentication();

select throws_ok($$ insert into public.shop_members (shop_id, user_id, role) select alpha, stranger, 'owner' from ids $$,
  '23514', null, 'roles are viewer, operator or admin');

select * from finish();
rollback;
