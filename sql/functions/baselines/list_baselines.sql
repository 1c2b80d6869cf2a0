-- list_baselines: one page of a shop's stored baselines for `GET /api/data/baselines`, in
-- (page, metric) order, optionally for one page ('*' = site) and/or metric; keyset pagination:
-- pass the last row's page / metric as p_after_page / p_after_metric.
-- Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 p_limit outside 1..1000, half a cursor or unknown metric.
create or replace function public.list_baselines(
  p_shop_id uuid,
  p_page text default null,
  p_metric text default null,
  p_after_page text default null,
  p_after_metric text default null,
  p_limit integer default 100
)
returns setof public.baseline_metrics
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  perform private.require_page_args(p_limit, 1000, array[p_after_page is not null, p_after_metric is not null],
                                    'p_after_page and p_after_metric');
  if p_metric is not null and not p_metric = any (private.baseline_metric_names()) then
    raise exception 'unknown metric "%"', p_metric using errcode = 'OD003';
  end if;
  return query
    select b.*
    from public.baseline_metrics b
    where b.shop_id = p_shop_id
      and (p_page is null or b.page = case when p_page = '*' then '*' else private.page_path(p_page) end)
      and (p_metric is null or b.metric = p_metric)
      and (p_after_page is null or (b.page, b.metric) > (p_after_page, p_after_metric))
    order by b.page, b.metric
    limit p_limit;
end
$$;
comment on function public.list_baselines(uuid, text, text, text, text, integer) is
  'A page of stored baselines ((page, metric) order) for the HTTP listing; keyset cursor p_after_page/p_after_metric.';
revoke execute on function public.list_baselines(uuid, text, text, text, text, integer) from public, anon;
grant execute on function public.list_baselines(uuid, text, text, text, text, integer) to authenticated, service_role;
