-- mark_alert_delivered: records a successful webhook delivery. Idempotent.
create or replace function private.mark_alert_delivered(p_alert_id bigint)
returns void
language sql
set search_path = ''
as $$
  update public.alerts a
  set delivery_status = 'delivered', delivered_at = coalesce(a.delivered_at, now()), last_error = null
  where a.id = p_alert_id
$$;
comment on function private.mark_alert_delivered(bigint) is 'Marks an alert delivered.';
revoke execute on function private.mark_alert_delivered(bigint) from public, anon, authenticated;
grant execute on function private.mark_alert_delivered(bigint) to service_role;
