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

create or replace function tests.add_member(p_shop_id uuid, p_user_id uuid, p_role text)
returns void
language sql
as $$
  insert into public.shop_members (shop_id, user_id, role) values (p_shop_id, p_user_id, p_role)
  on conflict (shop_id, user_id) do update set role = excluded.role
$$;

-- Act as PostgREST would for a signed-in user: claims set, role authenticated (until cleared).
create or replace function tests.authenticate_as(p_user_id uuid)
returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims',
    json_build_object('sub', p_user_id, 'role', 'authenticated', 'aud', 'authenticated')::text, true);
  perform set_config('role', 'authenticated', true);
end
$$;

create or replace function tests.authenticate_as_anon()
returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', '{"role": "anon"}', true);
  perform set_config('role', 'anon', true);
end
$$;

create or replace function tests.authenticate_as_service_role()
returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
  perform set_config('role', 'service_role', true);
end
$$;

create or replace function tests.clear_authentication()
returns void
language plpgsql
as $$
begin
  perform set_config('request.jwt.claims', '', true);
  perform set_config('role', 'none', true);
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;

select pass('test helpers installed');
select * from finish();
commit;
