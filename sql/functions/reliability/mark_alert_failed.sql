-- mark_alert_failed: records a failed delivery; the alert stays queued and is retried after
-- p_retry_after (e.g. the webhook's Retry-After) or an exponential backoff: 1, 2, 4 ... minutes,
-- at most 6 hours. Alerts are never dropped.
create or replace function private.mark_alert_failed(p_alert_id bigint, p_error text, p_retry_after interval default null)
returns timestamptz
language sql
set search_path = ''
as $$
  update public.alerts a
  set last_error = left(coalesce(p_error, 'unknown error'), 500),
      next_attempt_at = now() + coalesce(
        p_retry_after,
        least(interval '1 minute' * power(2, least(greatest(a.attempts, 1) - 1, 20)), interval '6 hours'))
  where a.id = p_alert_id and a.delivery_status = 'queued'
  returning a.next_attempt_at
$$;
comment on function private.mark_alert_failed(bigint, text, interval) is
  'Records a failed delivery and schedules the next attempt (backoff); returns when it will be retried.';
revoke execute on function private.mark_alert_failed(bigint, text, interval) from public, anon, authenticated;
grant execute on function private.mark_alert_failed(bigint, text, interval) to service_role;
