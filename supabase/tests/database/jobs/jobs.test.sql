-- private.jobs and private.job_runs: the job registry and its run history. Not tenant data:
-- only service_role (and the postgres role pg_cron runs as) reads or writes them; anon and
-- app users are refused outright. private.run_job is service_role's, not the app's.
begin;
select plan(23);

select tests.create_two_shops('admin');
insert into private.jobs (name, schedule, command, description)
values ('pgtap_noop', '0 0 * * *', 'jsonb_build_object(''ok'', true)', 'does nothing');
insert into private.job_runs (job_name, status, finished_at) values ('pgtap_noop', 'succeeded', now());

select ok((select relrowsecurity from pg_class where oid = 'private.jobs'::regclass),
  'private.jobs: row level security is enabled');
select ok((select relrowsecurity from pg_class where oid = 'private.job_runs'::regclass),
  'private.job_runs: row level security is enabled');
select table_privs_are('private', 'jobs', 'authenticated', array[]::text[],
  'private.jobs: authenticated holds no privilege');
select table_privs_are('private', 'job_runs', 'authenticated', array[]::text[],
  'private.job_runs: authenticated holds no privilege');
select table_privs_are('private', 'jobs', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'private.jobs: service_role reads and writes');
select table_privs_are('private', 'job_runs', 'service_role', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'private.job_runs: service_role reads and writes');

select tests.authenticate_as_anon();
select throws_ok('select count(*) from private.jobs', '42501', null, 'private.jobs: anon cannot read');
select throws_ok('select count(*) from private.job_runs', '42501', null, 'private.job_runs: anon cannot read');
select tests.clear_authentication();

-- an admin of a shop is still an app user: jobs are not theirs to see or run
select tests.authenticate_as(tests.id('alpha_member'));
select throws_ok('select count(*) from private.jobs', '42501', null, 'private.jobs: a member cannot read');
select throws_ok('select count(*) from private.job_runs', '42501', null, 'private.job_runs: a member cannot read');
select throws_ok($$ insert into private.jobs (name, schedule, command, description) values ('x', '* * * * *', 'now()', 'x') $$,
  '42501', null, 'private.jobs: a member cannot insert');
select throws_ok($$ update private.jobs set schedule = '* * * * *' $$, '42501', null, 'private.jobs: a member cannot update');
select throws_ok('delete from private.job_runs', '42501', null, 'private.job_runs: a member cannot delete');
select throws_ok($$ select private.run_job('pgtap_noop') $$, '42501', null, 'a member cannot run a job');
select tests.clear_authentication();

select tests.authenticate_as(tests.id('stranger'));
select throws_ok('select count(*) from private.jobs', '42501', null, 'private.jobs: a non-member cannot read');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select results_eq($$ select name from private.jobs where name = 'pgtap_noop' $$, $$ values ('pgtap_noop') $$,
  'private.jobs: service_role reads');
select tests.changes_one_row(
  $$ insert into private.jobs (name, schedule, command, description)
     values ('pgtap_other', '0 1 * * *', 'jsonb_build_object()', 'x') $$,
  'private.jobs: service_role inserts');
select tests.changes_one_row($$ update private.jobs set schedule = '0 2 * * *' where name = 'pgtap_other' $$,
  'private.jobs: service_role updates');
select tests.changes_one_row($$ insert into private.job_runs (job_name) values ('pgtap_other') $$,
  'private.job_runs: service_role inserts');
select tests.changes_one_row($$ delete from private.jobs where name = 'pgtap_other' $$,
  'private.jobs: service_role deletes (its runs go with it)');
select lives_ok($$ select private.run_job('pgtap_noop') $$, 'service_role runs a job');
select results_eq(
  $$ select r.status, r.result from private.job_runs r where r.job_name = 'pgtap_noop' order by r.id desc limit 1 $$,
  $$ values ('succeeded'::text, '{"ok": true}'::jsonb) $$,
  'the run is recorded with its result');
select throws_ok($$ select private.run_job('pgtap_missing') $$, 'OD010', null, 'an unknown job is OD010');
select tests.clear_authentication();

select * from finish();
rollback;
