-- my_shops: the caller's shops with their role in each, by name.
-- One row per shop the caller is a member of. Reads as the caller (RLS applies).
-- Nothing per user beyond the role: the read API shares cached answers between callers with
-- the same memberships (shop and role).
-- Callable by authenticated. HTTP: GET /api/data/shops.
create or replace function public.my_shops()
returns table (
  id uuid,
  domain text,
  name text,
  currency text,
  timezone text,
  role text
)
language sql
stable
set search_path = ''
as $$
  select s.id, s.domain, s.name, s.currency::text, s.timezone, m.role
  from public.shop_members m
  join public.shops s on s.id = m.shop_id
  where m.user_id = (select auth.uid())
  order by s.name, s.id
$$;
comment on function public.my_shops() is 'The caller''s shops and their role in each.';
revoke execute on function public.my_shops() from public, anon;
grant execute on function public.my_shops() to authenticated, service_role;
