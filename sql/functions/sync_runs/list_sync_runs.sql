-- list_sync_runs: a shop's loader and pipeline runs, newest first, one keyset page at a time.
-- One row per run. Reads as the caller (RLS applies); a non-member gets 42501 (403), not an
-- empty page. Next page: pass the last row's started_at and id as p_after_started_at, p_after_id.
-- Errors: 42501 not a member; OD003 p_limit outside 1-500 or only one of the keyset arguments.
-- Callable by authenticated. HTTP: GET /api/data/sync-runs.
create or replace function public.list_sync_runs(
  p_shop_id uuid,
  p_source text default null,
  p_after_started_at timestamptz default null,
  p_after_id bigint default null,
  p_limit integer default 50
)
returns setof public.sync_runs
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.assert_shop_member(p_shop_id);
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception 'p_limit must be between 1 and 500 (got %)', coalesce(p_limit::text, 'null')
      using errcode = 'OD003';
  end if;
  if (p_after_started_at is null) <> (p_after_id is null) then
    raise exception 'p_after_started_at and p_after_id go together (the last row''s started_at and id)'
      using errcode = 'OD003';
  end if;
  return query
    select r.*
    from public.sync_runs r
    where r.shop_id = p_shop_id
      and (p_source is null or r.source = p_source)
      and (p_after_id is null or (r.started_at, r.id) < (p_after_started_at, p_after_id))
    order by r.started_at desc, r.id desc
    limit p_limit;
end
$$;
comment on function public.list_sync_runs(uuid, text, timestamptz, bigint, integer) is
  'A shop''s sync runs, newest first, keyset-paged by (started_at, id).';
revoke execute on function public.list_sync_runs(uuid, text, timestamptz, bigint, integer) from public, anon;
grant execute on function public.list_sync_runs(uuid, text, timestamptz, bigint, integer) to authenticated, service_role;
