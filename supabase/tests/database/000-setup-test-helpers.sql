-- Test helpers for every pgTAP file (the basejump pattern): this file sorts first, and unlike
-- the other files it commits, so the helpers exist for the files that follow.
-- They live in schema `tests`, which exists only in databases the test suite ran against.
begin;
select plan(1);

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- A user in auth.users; returns its id.
create or replace function tests.create_user(p_email text)
returns uuid
language sql
as $$
  insert into auth.users (email) values (p_email)
  on conflict (email) do update set email = excluded.email
  returning id
$$;

-- A shop; returns its id.
create or replace function tests.create_shop(p_domain text)
returns uuid
language sql
as $$
  insert into public.shops (domain, name) values (p_domain, split_part(p_domain, '.', 1))
  on conflict (domain) do update set name = excluded.name
  returning id
$$;

-- The id of the user with this email (read before switching to an API role: auth.users is
-- not theirs to read).
create or replace function tests.user_id(p_email text)
returns uuid
language sql
stable
as $$ select id from auth.users where email = p_email $$;

create or replace function tests.add_member(p_shop_id uuid, p_user_id uuid, p_role text)
returns void
language sql
as $$
  insert into public.shop_members (shop_id, user_id, role) values (p_shop_id, p_user_id, p_role)
  on conflict (shop_id, user_id) do update set role = excluded.role
$$;

-- Act as PostgREST would: request claims and role set for the rest of the transaction (until
-- cleared). The helpers below are the roles the tests take.
create or replace function tests.set_request_role(p_role text, p_claims text)
returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', p_claims, true);
  perform set_config('role', p_role, true);
end
$$;

-- A signed-in user.
create or replace function tests.authenticate_as(p_user_id uuid)
returns void
language sql
as $$
  select tests.set_request_role('authenticated',
    json_build_object('sub', p_user_id, 'role', 'authenticated', 'aud', 'authenticated')::text)
$$;

create or replace function tests.authenticate_as_anon()
returns void
language sql
as $$ select tests.set_request_role('anon', '{"role": "anon"}') $$;

create or replace function tests.authenticate_as_service_role()
returns void
language sql
as $$ select tests.set_request_role('service_role', '{"role": "service_role"}') $$;

create or replace function tests.clear_authentication()
returns void
language sql
as $$ select tests.set_request_role('none', '') $$;

-- ===== tenancy fixtures and checks =====================================================
-- The cast of every tenancy test: shops alpha and beta with one member each (p_role), and a
-- user who belongs to no shop. Creates the temporary table `ids` (alpha, beta, alpha_member,
-- beta_member, stranger), readable by the API roles so statements run as them can use it.
-- Names are fixed; every test file rolls back, and nothing else uses the pgtap.test domain.
create or replace function tests.create_two_shops(p_role text default 'viewer')
returns void
language plpgsql
as $$
declare
  v_alpha uuid := tests.create_shop('alpha.pgtap.test');
  v_beta uuid := tests.create_shop('beta.pgtap.test');
  v_alpha_member uuid := tests.create_user('member@alpha.pgtap.test');
  v_beta_member uuid := tests.create_user('member@beta.pgtap.test');
  v_stranger uuid := tests.create_user('stranger@pgtap.test');
begin
  perform tests.add_member(v_alpha, v_alpha_member, p_role);
  perform tests.add_member(v_beta, v_beta_member, p_role);
  create temporary table ids on commit drop as
    select v_alpha as alpha, v_beta as beta, v_alpha_member as alpha_member,
           v_beta_member as beta_member, v_stranger as stranger;
  grant select on ids to anon, authenticated, service_role;
end
$$;

-- One id from the `ids` table, e.g. tests.id('alpha').
create or replace function tests.id(p_name text)
returns uuid
language plpgsql
stable
as $$
declare
  v_id uuid;
begin
  execute format('select %I from ids', p_name) into v_id;
  return v_id;
end
$$;

-- Passes when p_sql (one INSERT, UPDATE or DELETE) changes exactly one row, run as the
-- current role; an error fails the test with its SQLSTATE instead of aborting the file.
create or replace function tests.changes_one_row(p_sql text, p_description text)
returns text
language plpgsql
as $$
declare
  v_rows bigint;
begin
  execute p_sql;
  get diagnostics v_rows = row_count;
  return is(v_rows, 1::bigint, p_description);
exception when others then
  return fail(p_description) || E'\n' || diag(format('    %s: %s', sqlstate, sqlerrm));
end
$$;

-- Passes when p_user, signed in, reads rows of p_table from p_shop only, and all of them.
create or replace function tests.sees_only_shop(p_table regclass, p_user uuid, p_shop uuid, p_description text)
returns text
language plpgsql
as $$
declare
  v_expected bigint;
  v_result text;
begin
  execute format('select count(*) from %s where shop_id = $1', p_table) into v_expected using p_shop;
  perform tests.authenticate_as(p_user);
  v_result := results_eq(
    format('select shop_id, count(*) from %s group by shop_id', p_table),
    format('values (%L::uuid, %s::bigint)', p_shop, v_expected),
    p_description);
  perform tests.clear_authentication();
  return v_result;
end
$$;

-- The tenancy contract of a table with shop_id (DESIGN.md "Security model"), as TAP lines that
-- each name the table: RLS on, exact grants, anon denied, a non-member sees nothing, a member
-- sees exactly their shop's rows, authenticated cannot write, service_role can.
-- Needs tests.create_two_shops() and rows of p_table in both shops (checked, so the read
-- checks cannot pass on an empty table). p_new_row inserts one new row for shop alpha (it may
-- read `ids`); p_new_row_key is a predicate matching only that row within alpha. 15 tests.
create or replace function tests.check_shop_table(p_table regclass, p_new_row text, p_new_row_key text)
returns setof text
language plpgsql
as $$
declare
  v_schema text;
  v_name text;
  v_label text;
  v_alpha uuid := tests.id('alpha');
  v_beta uuid := tests.id('beta');
  v_in_alpha bigint;
  v_in_beta bigint;
begin
  select n.nspname, c.relname into v_schema, v_name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = p_table;
  v_label := format('%I.%I', v_schema, v_name);
  execute format('select count(*) filter (where shop_id = $1), count(*) filter (where shop_id = $2) from %s',
                 p_table) into v_in_alpha, v_in_beta using v_alpha, v_beta;

  return next ok((select c.relrowsecurity from pg_class c where c.oid = p_table),
                 format('%s: row level security is enabled', v_label));
  return next table_privs_are(v_schema, v_name, 'anon', array[]::text[],
                              format('%s: anon holds no privilege', v_label));
  return next table_privs_are(v_schema, v_name, 'authenticated', array['SELECT'],
                              format('%s: authenticated may only select', v_label));
  return next ok(v_in_alpha > 0 and v_in_beta > 0, format('%s: test rows exist in both shops', v_label));

  perform tests.authenticate_as_anon();
  return next throws_ok(format('select count(*) from %s', p_table), '42501', null,
                        format('%s: anon cannot read', v_label));
  return next throws_ok(p_new_row, '42501', null, format('%s: anon cannot insert', v_label));
  perform tests.clear_authentication();

  perform tests.authenticate_as(tests.id('stranger'));
  return next is_empty(format('select 1 from %s', p_table), format('%s: a non-member sees no row', v_label));
  perform tests.clear_authentication();

  return next tests.sees_only_shop(p_table, tests.id('alpha_member'), v_alpha,
                                   format('%s: a member of alpha sees all of alpha''s rows and nothing else', v_label));
  return next tests.sees_only_shop(p_table, tests.id('beta_member'), v_beta,
                                   format('%s: a member of beta sees all of beta''s rows and nothing else', v_label));

  perform tests.authenticate_as(tests.id('alpha_member'));
  return next throws_ok(p_new_row, '42501', null, format('%s: a member cannot insert', v_label));
  return next throws_ok(format('update %s set shop_id = shop_id where shop_id = %L', p_table, v_alpha),
                        '42501', null, format('%s: a member cannot update', v_label));
  return next throws_ok(format('delete from %s where shop_id = %L', p_table, v_alpha),
                        '42501', null, format('%s: a member cannot delete', v_label));
  perform tests.clear_authentication();

  perform tests.authenticate_as_service_role();
  return next tests.changes_one_row(p_new_row, format('%s: service_role inserts', v_label));
  return next tests.changes_one_row(format('update %s set shop_id = shop_id where shop_id = %L and (%s)', p_table, v_alpha, p_new_row_key),
                                    format('%s: service_role updates', v_label));
  return next tests.changes_one_row(format('delete from %s where shop_id = %L and (%s)', p_table, v_alpha, p_new_row_key),
                                    format('%s: service_role deletes', v_label));
  perform tests.clear_authentication();
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;

select pass('test helpers installed');
select * from finish();
commit;
