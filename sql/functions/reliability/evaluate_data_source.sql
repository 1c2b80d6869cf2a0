-- evaluate_data_source: runs every check of one shop's source, records them, sets the source's
-- status (worst of its checks) and queues alerts: one per status change (a first evaluation
-- alerts only when yellow or red), and while the source stays red a reminder at most every
-- reminder_every. Returns the new status.
create or replace function private.evaluate_data_source(p_shop_id uuid, p_source text, p_now timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_ds public.data_sources;
  v_checks public.data_quality_checks[];
  v_check public.data_quality_checks;
  v_status text := 'green';
  v_message text;
  v_label text := private.source_label(p_source);
  v_changed boolean;
  v_alert_kind text;
  v_title text;
begin
  select * into v_ds from public.data_sources d
  where d.shop_id = p_shop_id and d.source = p_source
  for update;

  v_checks := array[
    private.check_sync_freshness(v_ds, p_now),
    private.check_data_recency(v_ds, p_now),
    private.check_volume(v_ds, p_now)
  ];
  v_check := private.check_validity(v_ds, p_now);
  if v_check.check_name is not null then
    v_checks := v_checks || v_check;
  end if;

  foreach v_check in array v_checks loop
    insert into public.data_quality_checks
      (shop_id, source, check_name, status, observed, threshold_warn, threshold_error, unit, message, details, checked_at)
    values (p_shop_id, p_source, v_check.check_name, v_check.status, v_check.observed, v_check.threshold_warn,
            v_check.threshold_error, v_check.unit, v_check.message, v_check.details, p_now);
    if private.status_rank(v_check.status) > private.status_rank(v_status) then
      v_status := v_check.status;
    end if;
  end loop;

  select coalesce(string_agg(c.message, ' ' order by c.check_name), 'All checks pass.')
  into v_message
  from unnest(v_checks) c
  where c.status = v_status and v_status <> 'green';

  v_changed := case when v_ds.last_checked_at is null then v_status in ('yellow', 'red')
                    else v_status <> v_ds.status end;
  if v_changed then
    v_alert_kind := 'status_change';
    v_title := case v_status
      when 'green' then case when v_ds.status = 'grey' then format('%s is green (was grey)', v_label)
                             else format('%s recovered: green (was %s)', v_label, v_ds.status) end
      when 'grey' then format('%s cannot be checked: grey (was %s)', v_label, v_ds.status)
      else format('%s is %s%s', v_label, v_status,
                  case when v_ds.last_checked_at is null then '' else format(' (was %s)', v_ds.status) end)
    end;
  elsif v_status = 'red' and p_now - coalesce(v_ds.last_alert_at, v_ds.status_since, p_now) >= v_ds.reminder_every then
    v_alert_kind := 'reminder';
    v_title := format('%s is still red (since %s)', v_label,
                      private.format_hours(private.hours(p_now - v_ds.status_since)) || ' ago');
  end if;

  if v_alert_kind is not null then
    perform private.enqueue_alert(
      p_shop_id, v_alert_kind,
      case v_status when 'red' then 'critical' when 'green' then 'info' else 'warning' end,
      p_source, v_title, v_message,
      jsonb_build_object('from', case when v_ds.last_checked_at is null then null else v_ds.status end,
                         'to', v_status,
                         'checks', (select jsonb_agg(jsonb_build_object('check', c.check_name, 'status', c.status,
                                                                        'message', c.message))
                                    from unnest(v_checks) c)),
      format('%s:%s:%s:%s', v_alert_kind, p_source, v_status, extract(epoch from p_now)),
      p_now
    );
  end if;

  update public.data_sources d
  set status = v_status,
      status_since = case when v_changed or v_ds.status_since is null or v_ds.status <> v_status
                          then p_now else d.status_since end,
      status_message = v_message,
      last_checked_at = p_now,
      last_alert_at = case when v_alert_kind is not null then p_now else d.last_alert_at end,
      updated_at = now()
  where d.shop_id = p_shop_id and d.source = p_source;
  return v_status;
end
$$;
comment on function private.evaluate_data_source(uuid, text, timestamptz) is
  'Runs and records all checks of one source, sets its status (worst check) and queues change/reminder alerts.';
revoke execute on function private.evaluate_data_source(uuid, text, timestamptz) from public, anon, authenticated;
grant execute on function private.evaluate_data_source(uuid, text, timestamptz) to service_role;
