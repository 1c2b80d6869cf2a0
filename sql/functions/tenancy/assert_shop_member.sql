-- assert_shop_member: true when the caller may read p_shop_id, else raises 42501, so that
-- shop-scoped API functions answer a non-member with 403 through PostgREST and the HTTP API
-- alike (not with an empty 200). Jobs and loaders (service_role, postgres) pass.
create or replace function private.assert_shop_member(p_shop_id uuid, p_min_role text default 'viewer')
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_privileged_caller() or private.has_shop_role(p_shop_id, p_min_role) then
    return true;
  end if;
  -- the same answer for a missing shop: a non-member learns nothing about other tenants
  raise exception 'not a member of this shop%',
    case when p_min_role <> 'viewer' then format(' with role %s or higher', p_min_role) else '' end
    using errcode = '42501', hint = 'GET /api/data/shops (or rpc my_shops) lists the shops you can read';
end
$$;
comment on function private.assert_shop_member(uuid, text) is
  'Raises 42501 unless the caller is a member of p_shop_id with at least p_min_role (or a job role).';
revoke execute on function private.assert_shop_member(uuid, text) from public, anon;
grant execute on function private.assert_shop_member(uuid, text) to authenticated, service_role;
