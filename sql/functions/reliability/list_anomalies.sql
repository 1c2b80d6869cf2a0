-- list_anomalies: a shop's flagged points, newest day first, keyset-paginated by
-- (observed_on, id): pass the last row's as p_after_observed_on / p_after_id. Optional filters.
-- Reads as the caller (RLS applies); 42501 when not a member; OD003 for a bad limit or half a cursor.
create or replace function public.list_anomalies(
  p_shop_id uuid,
  p_limit integer default 50,
  p_after_observed_on date default null,
  p_after_id bigint default null,
  p_series text default null,
  p_source text default null
)
returns setof public.anomalies
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  perform private.require_page_args(p_limit, 500, array[p_after_observed_on is not null, p_after_id is not null],
                                    'p_after_observed_on and p_after_id');
  return query
  select a.* from public.anomalies a
  where a.shop_id = p_shop_id
    and (p_series is null or a.series = p_series)
    and (p_source is null or a.source = p_source)
    and (p_after_id is null or (a.observed_on, a.id) < (p_after_observed_on, p_after_id))
  order by a.observed_on desc, a.id desc
  limit p_limit;
end
$$;
comment on function public.list_anomalies(uuid, integer, date, bigint, text, text) is
  'A shop''s anomalies, newest first; keyset pagination with p_after_observed_on + p_after_id. Members only.';
revoke execute on function public.list_anomalies(uuid, integer, date, bigint, text, text) from public, anon;
grant execute on function public.list_anomalies(uuid, integer, date, bigint, text, text) to authenticated, service_role;
