-- api_cache_get: the live cache entry for a request (normalized parameters and shop scope, see
-- api_cache_key), with the seconds it has left.
-- Called by the read API as its own connection role, in the transaction that resolved the
-- caller's scope as the caller (membership checked first). Never callable by app users.
create or replace function private.api_cache_get(p_material text, p_scope text[])
returns table (data text, total bigint, next_cursor text, expires_at timestamptz, max_age integer)
language sql
stable
set search_path = ''
as $$
  select c.data, c.total, c.next_cursor, c.expires_at,
         greatest(0, floor(extract(epoch from c.expires_at - clock_timestamp())))::integer
  from private.api_cache c
  where c.key = private.api_cache_key(p_material, p_scope) and c.expires_at > clock_timestamp()
$$;
comment on function private.api_cache_get(text, text[]) is
  'Live read API cache entry for a request and scope (data, total, next_cursor, expiry and seconds left).';
revoke execute on function private.api_cache_get(text, text[]) from public, anon, authenticated;
grant execute on function private.api_cache_get(text, text[]) to service_role;
