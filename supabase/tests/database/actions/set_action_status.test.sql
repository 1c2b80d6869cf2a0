-- public.set_action_status: the checked RPC through which operators and admins decide actions.
-- Roles: viewer refused (42501), operator and admin allowed, a non-member gets "not found"
-- (OD002, the same answer as a missing id), anon cannot call it. Lifecycle: proposed ->
-- approved | rejected, approved -> executed | rejected, executed -> reverted; anything else
-- is OD001; a status outside that set is OD003.
begin;
select plan(22);

select tests.create_two_shops('viewer');
select tests.add_member(alpha, tests.create_user('operator@alpha.pgtap.test'), 'operator') from ids;
select tests.add_member(alpha, tests.create_user('admin@alpha.pgtap.test'), 'admin') from ids;
select tests.add_member(beta, tests.create_user('operator@beta.pgtap.test'), 'operator') from ids;

-- one action per scenario, named by its target_ref
create temporary table acts on commit drop as
  with proposed as (
    insert into public.actions (shop_id, recommender, action_type, target_kind, target_ref)
    select alpha, 'seo_titles', 'rewrite_title', 'page', ref
    from ids, unnest(array['by-viewer', 'by-operator', 'by-admin', 'lifecycle', 'rejected', 'by-service']) ref
    returning target_ref, id
  )
  select * from proposed;
grant select on acts to anon, authenticated, service_role;

create function pg_temp.act(p_ref text) returns uuid language sql stable
as $$ select id from acts where target_ref = p_ref $$;
grant execute on function pg_temp.act(text) to anon, authenticated, service_role;

-- ===== who may call it =====================================================================
select tests.authenticate_as_anon();
select throws_ok($$ select public.set_action_status(pg_temp.act('by-viewer'), 'approved') $$,
  '42501', null, 'anon cannot call set_action_status');
select tests.clear_authentication();

select tests.authenticate_as(tests.user_id('member@alpha.pgtap.test'));
select throws_ok($$ select public.set_action_status(pg_temp.act('by-viewer'), 'approved') $$,
  '42501', null, 'a viewer cannot decide');
select tests.clear_authentication();

select tests.authenticate_as(tests.user_id('stranger@pgtap.test'));
select throws_ok($$ select public.set_action_status(pg_temp.act('by-viewer'), 'approved') $$,
  'OD002', null, 'a non-member gets not found');
select tests.clear_authentication();

select tests.authenticate_as(tests.user_id('operator@beta.pgtap.test'));
select throws_ok($$ select public.set_action_status(pg_temp.act('by-viewer'), 'approved') $$,
  'OD002', null, 'an operator of another shop gets not found');
select throws_ok($$ select public.set_action_status(gen_random_uuid(), 'approved') $$,
  'OD002', null, 'a missing action is not found');
select tests.clear_authentication();

select is((select status from public.actions where id = pg_temp.act('by-viewer')), 'proposed',
  'refused calls change nothing');

select tests.authenticate_as(tests.user_id('operator@alpha.pgtap.test'));
select is((public.set_action_status(pg_temp.act('by-operator'), 'approved', 'good title')).status, 'approved',
  'an operator approves');
select tests.clear_authentication();
select results_eq(
  $$ select decided_by, decision_note, decided_at is not null from public.actions where id = pg_temp.act('by-operator') $$,
  $$ select tests.user_id('operator@alpha.pgtap.test'), 'good title'::text, true $$,
  'the decision records who decided, the note and when');

select tests.authenticate_as(tests.user_id('admin@alpha.pgtap.test'));
select is((public.set_action_status(pg_temp.act('by-admin'), 'rejected')).status, 'rejected', 'an admin rejects');
select tests.clear_authentication();

-- ===== the lifecycle ========================================================================
select tests.authenticate_as(tests.user_id('operator@alpha.pgtap.test'));
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), 'executed') $$,
  'OD001', null, 'proposed cannot become executed');
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), 'reverted') $$,
  'OD001', null, 'proposed cannot become reverted');
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), 'proposed') $$,
  'OD003', null, 'proposed is not a status one sets');
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), null) $$,
  'OD003', null, 'a null status is refused');
select is((public.set_action_status(pg_temp.act('lifecycle'), 'approved')).status, 'approved',
  'proposed -> approved');
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), 'approved') $$,
  'OD001', null, 'approved cannot be approved again');
select is((public.set_action_status(pg_temp.act('lifecycle'), 'executed')).status, 'executed',
  'approved -> executed');
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), 'rejected') $$,
  'OD001', null, 'executed cannot be rejected');
select is((public.set_action_status(pg_temp.act('lifecycle'), 'reverted')).status, 'reverted',
  'executed -> reverted');
select throws_ok($$ select public.set_action_status(pg_temp.act('lifecycle'), 'executed') $$,
  'OD001', null, 'reverted is final');

select is((public.set_action_status(pg_temp.act('rejected'), 'rejected')).status, 'rejected', 'proposed -> rejected');
select throws_ok($$ select public.set_action_status(pg_temp.act('rejected'), 'approved') $$,
  'OD001', null, 'rejected is final');
select tests.clear_authentication();

-- ===== executors ============================================================================
select tests.authenticate_as_service_role();
select is((public.set_action_status(pg_temp.act('by-service'), 'approved')).status, 'approved',
  'service_role (recommenders, executors) may make allowed transitions');
select tests.clear_authentication();

select * from finish();
rollback;
