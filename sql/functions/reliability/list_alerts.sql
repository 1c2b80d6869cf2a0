-- list_alerts: a shop's alerts, newest first, keyset-paginated: pass the last row's created_at
-- and id as p_after_created_at / p_after_id for the next page. Optional filters by source and kind.
-- Reads as the caller (RLS applies); 42501 when not a member; OD003 for a bad limit or half a cursor.
create or replace function public.list_alerts(
  p_shop_id uuid,
  p_limit integer default 50,
  p_after_created_at timestamptz default null,
  p_after_id bigint default null,
  p_source text default null,
  p_kind text default null
)
returns setof public.alerts
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  perform private.require_page_args(p_limit, 500, array[p_after_created_at is not null, p_after_id is not null],
                                    'p_after_created_at and p_after_id');
  return query
  select a.* from public.alerts a
  where a.shop_id = p_shop_id
    and (p_source is null or a.source = p_source)
    and (p_kind is null or a.kind = p_kind)
    and (p_after_id is null or (a.created_at, a.id) < (p_after_created_at, p_after_id))
  order by a.created_at desc, a.id desc
  limit p_limit;
end
$$;
comment on function public.list_alerts(uuid, integer, timestamptz, bigint, text, text) is
  'A shop''s alerts, newest first; keyset pagination with p_after_created_at + p_after_id. Members only.';
revoke execute on function public.list_alerts(uuid, integer, timestamptz, bigint, text, text) from public, anon;
grant execute on function public.list_alerts(uuid, integer, timestamptz, bigint, text, text) to authenticated, service_role;
