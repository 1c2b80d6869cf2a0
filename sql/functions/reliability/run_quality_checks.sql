-- run_quality_checks: the data_quality_checks job (every 15 minutes). Configures newly seen
-- sources, evaluates every enabled source of every shop (or of p_shop_id), marks disabled ones
-- grey without alerting, and returns a summary. One run at a time (advisory lock), so two
-- overlapping runs cannot both alert on the same change.
create or replace function private.run_quality_checks(p_now timestamptz default now(), p_shop_id uuid default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_configured integer;
  v_source record;
  v_status text;
  v_counts jsonb := '{"green": 0, "yellow": 0, "red": 0, "grey": 0}'::jsonb;
  v_alerts_before bigint := (select count(*) from public.alerts);
begin
  perform pg_advisory_xact_lock(hashtext('opsdata.run_quality_checks'));
  v_configured := private.ensure_data_sources();

  for v_source in
    select d.shop_id, d.source from public.data_sources d
    where d.enabled and (p_shop_id is null or d.shop_id = p_shop_id)
    order by d.shop_id, d.source
  loop
    v_status := private.evaluate_data_source(v_source.shop_id, v_source.source, p_now);
    v_counts := jsonb_set(v_counts, array[v_status], to_jsonb((v_counts ->> v_status)::integer + 1));
  end loop;

  update public.data_sources d
  set status = 'grey', status_since = p_now, status_message = 'Disabled: not checked.',
      last_checked_at = p_now, updated_at = now()
  where not d.enabled and (p_shop_id is null or d.shop_id = p_shop_id)
    and (d.status <> 'grey' or d.status_message is distinct from 'Disabled: not checked.');

  return jsonb_build_object(
    'auto_configured', v_configured,
    'statuses', v_counts,
    'alerts_queued', (select count(*) from public.alerts) - v_alerts_before
  );
end
$$;
comment on function private.run_quality_checks(timestamptz, uuid) is
  'Job data_quality_checks: evaluates every enabled source (optionally one shop) at p_now; returns a summary.';
revoke execute on function private.run_quality_checks(timestamptz, uuid) from public, anon, authenticated;
grant execute on function private.run_quality_checks(timestamptz, uuid) to service_role;
