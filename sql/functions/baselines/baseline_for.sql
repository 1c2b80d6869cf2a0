-- baseline_for: the baseline of one page (NULL or '*' = the whole site) for any window, e.g. as
-- it stood before an action (p_as_of = the day before it). Same SQL as the stored baselines
-- (private.baseline_rows). p_page is a URL or a path; it is matched by its path.
-- Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 unknown metric or p_days outside 7..730.
create or replace function public.baseline_for(
  p_shop_id uuid,
  p_page text default null,
  p_metric text default null,   -- NULL: every metric
  p_as_of date default null,    -- the window ends on or before this day (default: newest complete day)
  p_days integer default 90
)
returns setof public.baseline_metrics
language plpgsql
stable
set search_path = ''
-- A plan for this page, never a generic one: with p_page unknown, one page's index scan cannot
-- be chosen and every row of the window would be read.
set plan_cache_mode = force_custom_plan
as $$
begin
  perform private.require_shop_member(p_shop_id);
  if p_metric is not null and not p_metric = any (private.baseline_metric_names()) then
    raise exception 'unknown metric "%" (one of %)', p_metric, array_to_string(private.baseline_metric_names(), ', ')
      using errcode = 'OD003';
  end if;
  if p_days is null or p_days not between 7 and 730 then
    raise exception 'p_days must be between 7 and 730 (got %)', p_days using errcode = 'OD003';
  end if;
  return query
    select * from private.baseline_rows(
      p_shop_id,
      case when p_page is null or p_page = '*' then '*' else private.page_path(p_page) end,
      p_metric, p_as_of, p_days)
    order by 3;
end
$$;
comment on function public.baseline_for(uuid, text, text, date, integer) is
  'Baseline of a page (NULL/''*'' = site) and metric for the p_days window ending at each source''s last complete day on or before p_as_of.';
revoke execute on function public.baseline_for(uuid, text, text, date, integer) from public, anon;
grant execute on function public.baseline_for(uuid, text, text, date, integer) to authenticated, service_role;
