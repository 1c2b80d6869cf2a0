-- ensure_data_sources: every source that appears in a shop's sync_runs gets a data_sources row,
-- with its kind's defaults (private.source_defaults) or, for a source nobody configured, the
-- general defaults (warn 24 h, error 48 h, no lag). Marked is_auto_configured. Returns how many.
-- Untracked sources (source_defaults.is_tracked = false: bookkeeping runs) are skipped.
create or replace function private.ensure_data_sources()
returns integer
language sql
set search_path = ''
as $$
  with seen as (
    select distinct r.shop_id, r.source from public.sync_runs r
    where not exists (select 1 from private.source_defaults u where u.source = r.source and not u.is_tracked)
  ),
  inserted as (
    insert into public.data_sources (shop_id, source, warn_after, error_after, expected_lag, is_auto_configured)
    select seen.shop_id, seen.source,
           coalesce(d.warn_after, interval '24 hours'), coalesce(d.error_after, interval '48 hours'),
           coalesce(d.expected_lag, interval '0'), true
    from seen
    left join private.source_defaults d on d.source = seen.source
    on conflict (shop_id, source) do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;
comment on function private.ensure_data_sources() is
  'Creates data_sources rows (with defaults) for sources seen in sync_runs; returns the number created.';
revoke execute on function private.ensure_data_sources() from public, anon, authenticated;
grant execute on function private.ensure_data_sources() to service_role;
