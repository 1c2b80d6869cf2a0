-- purge_api_cache: deletes expired read API cache entries. Job: purge_api_cache (every 15 min).
create or replace function private.purge_api_cache()
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_deleted bigint;
begin
  delete from private.api_cache c where c.expires_at <= clock_timestamp();
  get diagnostics v_deleted = row_count;
  return jsonb_build_object('deleted', v_deleted);
end
$$;
comment on function private.purge_api_cache() is 'Deletes expired read API cache entries; returns the count.';
revoke execute on function private.purge_api_cache() from public, anon, authenticated;
grant execute on function private.purge_api_cache() to service_role;
