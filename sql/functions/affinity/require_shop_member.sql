-- require_shop_member: raises 42501 unless the caller is a member of p_shop_id (with at least
-- p_min_role) or a job/loader (service_role, postgres). Read RPCs call it first, so a
-- non-member gets a 403 from PostgREST instead of an empty 200.
create or replace function private.require_shop_member(p_shop_id uuid, p_min_role text default 'viewer')
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not (private.is_privileged_caller() or private.has_shop_role(p_shop_id, p_min_role)) then
    raise exception 'not a member of shop %', p_shop_id
      using errcode = '42501', hint = 'ask an admin of the shop for access';
  end if;
end
$$;
comment on function private.require_shop_member(uuid, text) is
  'Raises 42501 unless the caller is a member of the shop (at least p_min_role) or a privileged job role.';
revoke execute on function private.require_shop_member(uuid, text) from public, anon;
grant execute on function private.require_shop_member(uuid, text) to authenticated, service_role;
