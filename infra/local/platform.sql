-- Supabase platform emulation for the embedded local cluster.
--
-- On a real Supabase project the platform creates all of this; it is never part of
-- supabase/migrations/. Run as the cluster superuser `supabase_admin`, once per database
-- (roles are cluster-wide and created only when missing). Idempotent.
--
-- Shapes follow supabase/postgres (roles, grants) and supabase/auth (auth helpers); see
-- shared/reference/supabase.md. Deliberately NOT emulated: default privileges that auto-grant
-- new public objects to the API roles (new projects no longer have them), supautils, safeupdate.

set client_min_messages = warning;

-- ===== roles (cluster-wide) =====================================================
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres login password 'postgres';
  end if;
  -- Demoted as on Supabase: grant and RLS bugs must not hide behind a superuser.
  alter role postgres nosuperuser createdb createrole login replication bypassrls;

  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin nologin noinherit createrole;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin nologin noinherit;
  end if;
end
$$;

-- API roles are INHERIT since supabase/postgres 20230529180330.
alter role anon inherit;
alter role authenticated inherit;
alter role service_role inherit;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
alter role postgres set search_path = "$user", public, extensions;

-- ===== database-level grants ======================================================
do $$
begin
  execute format('grant connect, create, temporary on database %I to postgres', current_database());
  execute format('grant connect on database %I to authenticator, anon, authenticated, service_role',
                 current_database());
end
$$;

-- PG15 makes `public` owned by pg_database_owner with no CREATE for others; Supabase's
-- `postgres` owns what it creates there.
grant all on schema public to postgres;
grant usage on schema public to anon, authenticated, service_role;

-- ===== extensions ================================================================
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant create on schema extensions to postgres;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists pgtap with schema extensions;

-- plpgsql_check backs `supabase db lint`. It is untrusted, so `postgres` cannot create it here
-- (on Supabase, supautils lets it): pre-created where the Debian package is installed.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'plpgsql_check') then
    create extension if not exists plpgsql_check with schema extensions;
  end if;
end
$$;

-- pg_cron lives only in the database named by cron.database_name (as on Supabase: postgres).
do $$
begin
  if current_setting('cron.database_name', true) = current_database() then
    create extension if not exists pg_cron;
    grant usage on schema cron to postgres with grant option;
    grant select on all tables in schema cron to postgres;
    grant delete on cron.job_run_details to postgres;
    grant execute on all functions in schema cron to postgres;
  end if;
end
$$;

-- ===== auth ======================================================================
create schema if not exists auth authorization supabase_auth_admin;
grant usage on schema auth to postgres, anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid,
  aud varchar(255) default 'authenticated',
  role varchar(255) default 'authenticated',
  email varchar(255) unique,
  phone text unique,
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
alter table auth.users owner to supabase_auth_admin;
grant all on auth.users to postgres, service_role;

-- Current bodies from supabase/auth migrations 20220224000811 and 20220531120530:
-- read the full claims JSON (PostgREST v11+), with nullif because a local setting reads ''
-- (not NULL) after the transaction that set it.
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to postgres, anon, authenticated, service_role;

-- ===== realtime ==================================================================
create schema if not exists realtime authorization supabase_realtime_admin;
grant usage on schema realtime to postgres, anon, authenticated, service_role;

-- Stand-in for Realtime Broadcast: records every send so tests can read what was broadcast.
create table if not exists realtime.sent_messages (
  id bigint generated always as identity primary key,
  topic text not null,
  event text not null,
  payload jsonb not null,
  private boolean not null,
  sent_at timestamptz not null default clock_timestamp()
);
alter table realtime.sent_messages owner to supabase_realtime_admin;
grant select, delete on realtime.sent_messages to postgres, service_role;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into realtime.sent_messages (topic, event, payload, private)
  values (topic, event, payload, private)
$$;
alter function realtime.send(jsonb, text, text, boolean) owner to supabase_realtime_admin;
revoke execute on function realtime.send(jsonb, text, text, boolean) from public;
grant execute on function realtime.send(jsonb, text, text, boolean) to postgres, service_role;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

-- ===== pg_net stand-in ============================================================
-- Records requests instead of sending them (no network here); same call signature.
create schema if not exists net;
grant usage on schema net to postgres, service_role;

create table if not exists net.http_request_queue (
  id bigint generated always as identity primary key,
  method text not null,
  url text not null,
  headers jsonb,
  body jsonb,
  timeout_milliseconds integer,
  queued_at timestamptz not null default clock_timestamp()
);
grant select, delete on net.http_request_queue to postgres, service_role;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql
security definer
set search_path = ''
as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', url, headers, body, timeout_milliseconds)
  returning id
$$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql
security definer
set search_path = ''
as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('GET', url, headers, null, timeout_milliseconds)
  returning id
$$;
revoke execute on all functions in schema net from public;
grant execute on all functions in schema net to postgres, service_role;
