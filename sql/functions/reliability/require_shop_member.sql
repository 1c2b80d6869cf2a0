-- require_shop_member: raises 42501 unless the caller is a member of p_shop_id (at least
-- p_min_role) or a privileged caller (jobs, service_role). Every shop-scoped read calls it, so a
-- non-member gets an error rather than an empty answer that looks like "all is well".
create or replace function private.require_shop_member(p_shop_id uuid, p_min_role text default 'viewer')
returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not (private.is_privileged_caller() or private.has_shop_role(p_shop_id, p_min_role)) then
    raise exception 'this needs the % role (or higher) on shop %', p_min_role, p_shop_id
      using errcode = '42501';
  end if;
end
$$;
comment on function private.require_shop_member(uuid, text) is
  'Raises 42501 unless the caller has at least p_min_role on the shop (or is a job / service_role).';
revoke execute on function private.require_shop_member(uuid, text) from public, anon;
grant execute on function private.require_shop_member(uuid, text) to authenticated, service_role;
