-- Tenancy: shops, their members, and the helpers every RLS policy uses.
-- Functions that policies (DDL) depend on live here, not in sql/functions/ (see sql/README.md).

-- ===== schemas ======================================================================
create schema if not exists private;
comment on schema private is 'Helpers and SECURITY DEFINER code; never exposed through the Data API.';
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- ===== tables =======================================================================
-- one row per shop (tenant)
create table public.shops (
  id uuid primary key default gen_random_uuid(),
  domain text not null unique
    check (domain = lower(domain) and domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'),
  name text not null check (length(name) between 1 and 200),
  currency char(3) not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
  -- an IANA zone; the cast rejects unknown zones with SQLSTATE 22023
  timezone text not null default 'UTC'
    check (timezone(timezone, timestamptz '2000-01-01 00:00+00') is not null),
  created_at timestamptz not null default now()
);
comment on table public.shops is 'Tenants: one Shopify store each. Every fact table carries shop_id.';

-- one row per shop and user
create table public.shop_members (
  shop_id uuid not null references public.shops (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'viewer' check (role in ('viewer', 'operator', 'admin')),
  created_at timestamptz not null default now(),
  primary key (shop_id, user_id)
);
comment on table public.shop_members is
  'Who may see a shop, and what they may do: viewer reads, operator also decides actions, admin also manages.';

-- ===== indexes ======================================================================
create index shop_members_user_id_idx on public.shop_members (user_id);

-- ===== policy helpers ===============================================================
-- SECURITY DEFINER so that policies on shop_members itself do not recurse through RLS.
create function private.my_shop_ids()
returns setof uuid
language sql stable security definer
set search_path = ''
as $$
  select m.shop_id from public.shop_members m where m.user_id = (select auth.uid())
$$;
comment on function private.my_shop_ids() is
  'Shops the caller (auth.uid()) is a member of. Use as `shop_id in (select private.my_shop_ids())`.';

create function private.role_rank(p_role text)
returns integer
language sql immutable
set search_path = ''
as $$
  select case p_role when 'viewer' then 1 when 'operator' then 2 when 'admin' then 3 end
$$;
comment on function private.role_rank(text) is 'Orders shop roles: viewer < operator < admin; NULL for anything else.';

create function private.has_shop_role(p_shop_id uuid, p_min_role text default 'viewer')
returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.shop_members m
    where m.shop_id = p_shop_id
      and m.user_id = (select auth.uid())
      and private.role_rank(m.role) >= private.role_rank(p_min_role)
  )
$$;
comment on function private.has_shop_role(uuid, text) is
  'True when the caller is a member of p_shop_id with at least p_min_role.';

create function private.is_privileged_caller()
returns boolean
language sql stable
set search_path = ''
as $$
  -- The effective API role: what SET ROLE chose (PostgREST, our Lambda), else the login role
  -- (jobs run by pg_cron and the CLI connect as postgres).
  select coalesce(nullif(current_setting('role', true), 'none'), session_user)
    in ('service_role', 'postgres', 'supabase_admin')
$$;
comment on function private.is_privileged_caller() is
  'True for jobs, the ETL and loaders (service_role or postgres), false for app users.';

revoke execute on all functions in schema private from public, anon;
grant execute on function private.my_shop_ids(), private.role_rank(text),
  private.has_shop_role(uuid, text), private.is_privileged_caller()
  to authenticated, service_role;

-- ===== row level security ===========================================================
alter table public.shops enable row level security;
alter table public.shop_members enable row level security;

create policy members_read on public.shops
  for select to authenticated
  using (id in (select private.my_shop_ids()));

create policy members_read on public.shop_members
  for select to authenticated
  using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
-- Explicit: new Supabase projects no longer auto-grant public objects to the API roles.
revoke all on public.shops, public.shop_members from anon, authenticated;
grant select on public.shops, public.shop_members to authenticated;
grant select, insert, update, delete on public.shops, public.shop_members to service_role;
