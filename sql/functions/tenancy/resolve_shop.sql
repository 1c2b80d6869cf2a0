-- resolve_shop: the id of the shop named by p_shop (its uuid or its domain) if the caller is a
-- member; raises 42501 otherwise (also for shops that do not exist) and 22023 for a value
-- that is neither. Reads as the caller: RLS on shops decides what is visible.
create or replace function private.resolve_shop(p_shop text)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_id uuid;
begin
  if p_shop ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select s.id into v_id from public.shops s where s.id = p_shop::uuid;
  elsif p_shop ~* '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' and length(p_shop) <= 253 then
    select s.id into v_id from public.shops s where s.domain = lower(p_shop);
  else
    raise exception 'shop must be a shop id (uuid) or a shop domain'
      using errcode = '22023';
  end if;
  perform private.assert_shop_member(v_id);  -- null (no such shop) fails like a non-member
  return v_id;
end
$$;
comment on function private.resolve_shop(text) is
  'Shop id for a uuid or domain the caller is a member of; 42501 otherwise.';
revoke execute on function private.resolve_shop(text) from public, anon;
grant execute on function private.resolve_shop(text) to authenticated, service_role;
