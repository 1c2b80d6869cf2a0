-- api_cache_put: stores a response for p_ttl_seconds (5-60 minutes) unless a live entry exists;
-- returns the entry that is stored now (ours, or the one a concurrent request stored first),
-- so the response can state its true expiry. The shops it covers are the scope's shop ids.
-- Called by the read API as its own role; the entry's commit does not wait for the WAL flush.
create or replace function private.api_cache_put(
  p_material text,
  p_scope text[],
  p_endpoint text,
  p_data text,
  p_total bigint,
  p_next_cursor text,
  p_ttl_seconds integer
)
returns table (expires_at timestamptz, max_age integer)
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_key text := private.api_cache_key(p_material, p_scope);
begin
  if p_ttl_seconds is null or p_ttl_seconds not between 300 and 3600 then
    raise exception 'cache TTL must be 300-3600 seconds (got %)', coalesce(p_ttl_seconds::text, 'null')
      using errcode = 'OD003';
  end if;
  if v_key is null then
    raise exception 'cache material and scope are required' using errcode = 'OD003';
  end if;
  -- a cache entry lost in a crash is only a miss: no need to wait for the WAL flush
  perform set_config('synchronous_commit', 'off', true);
  insert into private.api_cache as c (key, endpoint, shop_ids, data, total, next_cursor, created_at, expires_at)
  values (v_key, p_endpoint,
          array(select split_part(s, ':', 1)::uuid from unnest(p_scope) s),
          p_data, p_total, p_next_cursor, clock_timestamp(),
          clock_timestamp() + make_interval(secs => p_ttl_seconds))
  on conflict (key) do update
    set endpoint = excluded.endpoint, shop_ids = excluded.shop_ids, data = excluded.data,
        total = excluded.total, next_cursor = excluded.next_cursor,
        created_at = excluded.created_at, expires_at = excluded.expires_at
    where c.expires_at <= clock_timestamp();
  return query
    select c.expires_at, greatest(0, floor(extract(epoch from c.expires_at - clock_timestamp())))::integer
    from private.api_cache c
    where c.key = v_key;
end
$$;
comment on function private.api_cache_put(text, text[], text, text, bigint, text, integer) is
  'Stores a read API response unless a live entry exists; returns the stored entry''s expiry.';
revoke execute on function private.api_cache_put(text, text[], text, text, bigint, text, integer)
  from public, anon, authenticated;
grant execute on function private.api_cache_put(text, text[], text, text, bigint, text, integer) to service_role;
