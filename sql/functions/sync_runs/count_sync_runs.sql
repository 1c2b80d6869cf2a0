-- count_sync_runs: how many runs list_sync_runs pages through for the same filters.
-- Reads as the caller (RLS applies); a non-member gets 42501. Callable by authenticated.
create or replace function public.count_sync_runs(p_shop_id uuid, p_source text default null)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.assert_shop_member(p_shop_id);
  return (
    select count(*)
    from public.sync_runs r
    where r.shop_id = p_shop_id and (p_source is null or r.source = p_source)
  );
end
$$;
comment on function public.count_sync_runs(uuid, text) is
  'Number of sync runs of a shop (optionally one source): the total behind list_sync_runs.';
revoke execute on function public.count_sync_runs(uuid, text) from public, anon;
grant execute on function public.count_sync_runs(uuid, text) to authenticated, service_role;
