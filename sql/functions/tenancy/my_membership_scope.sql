-- my_membership_scope: the caller's memberships as sorted 'shop_id:role' strings. The read API
-- keys cached responses of endpoints that are not about one shop (e.g. GET /api/data/shops) on
-- this, so callers share an entry only when their memberships are identical.
-- Reads as the caller. Callable by authenticated.
create or replace function private.my_membership_scope()
returns text[]
language sql
stable
set search_path = ''
as $$
  select coalesce(array_agg(m.shop_id::text || ':' || m.role order by m.shop_id), '{}')
  from public.shop_members m
  where m.user_id = (select auth.uid())
$$;
comment on function private.my_membership_scope() is
  'The caller''s memberships as sorted shop_id:role strings (the read API''s cache scope).';
revoke execute on function private.my_membership_scope() from public, anon;
grant execute on function private.my_membership_scope() to authenticated, service_role;
