-- data_quality: per source of a shop, its status, why, the latest result of each check, the last
-- successful sync and how far its data reaches. One row per source, worst first.
-- Reads as the caller (RLS applies); 42501 when the caller is not a member of the shop.
create or replace function public.data_quality(p_shop_id uuid)
returns table (
  source text,
  label text,
  status text,
  status_since timestamptz,
  message text,
  enabled boolean,
  last_checked_at timestamptz,
  last_sync_at timestamptz,
  data_through timestamptz,
  expected_lag_hours numeric,
  warn_after_hours numeric,
  error_after_hours numeric,
  checks jsonb
)
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  return query
  select d.source,
         private.source_label(d.source),
         d.status,
         d.status_since,
         d.status_message,
         d.enabled,
         d.last_checked_at,
         (select max(r.finished_at) from public.sync_runs r
           where r.shop_id = d.shop_id and r.source = d.source and r.status = 'succeeded'),
         (select (c.details ->> 'data_through')::timestamptz from public.data_quality_checks c
           where c.shop_id = d.shop_id and c.source = d.source and c.check_name = 'data_recency'
           order by c.checked_at desc limit 1),
         round(extract(epoch from d.expected_lag) / 3600, 2),
         round(extract(epoch from d.warn_after) / 3600, 2),
         round(extract(epoch from d.error_after) / 3600, 2),
         coalesce((
           select jsonb_agg(jsonb_build_object(
                    'check', l.check_name, 'status', l.status, 'observed', l.observed, 'unit', l.unit,
                    'threshold_warn', l.threshold_warn, 'threshold_error', l.threshold_error,
                    'message', l.message, 'checked_at', l.checked_at) order by l.check_name)
           from (
             select distinct on (c.check_name) c.*
             from public.data_quality_checks c
             where c.shop_id = d.shop_id and c.source = d.source and c.checked_at = d.last_checked_at
             order by c.check_name, c.checked_at desc
           ) l
         ), '[]'::jsonb)
  from public.data_sources d
  where d.shop_id = p_shop_id
  order by private.status_rank(d.status) desc, d.source;
end
$$;
comment on function public.data_quality(uuid) is
  'Per source: status (worst check), message, latest checks, last successful sync, data through. Members only.';
revoke execute on function public.data_quality(uuid) from public, anon;
grant execute on function public.data_quality(uuid) to authenticated, service_role;
