-- enqueue_alert: puts an alert in the outbox once. The dedupe key says what makes two alerts the
-- same; a repeated call (retried job) returns NULL and inserts nothing.
create or replace function private.enqueue_alert(
  p_shop_id uuid,
  p_kind text,
  p_severity text,
  p_source text,
  p_title text,
  p_message text,
  p_details jsonb,
  p_dedupe_key text,
  p_at timestamptz default now()
)
returns bigint
language sql
set search_path = ''
as $$
  insert into public.alerts (shop_id, kind, severity, source, title, message, details, dedupe_key, created_at)
  values (p_shop_id, p_kind, p_severity, p_source, p_title, p_message, coalesce(p_details, '{}'::jsonb),
          p_dedupe_key, p_at)
  on conflict (shop_id, dedupe_key) do nothing
  returning id
$$;
comment on function private.enqueue_alert(uuid, text, text, text, text, text, jsonb, text, timestamptz) is
  'Inserts an alert unless one with the same dedupe key exists; returns its id or NULL.';
revoke execute on function private.enqueue_alert(uuid, text, text, text, text, text, jsonb, text, timestamptz)
  from public, anon, authenticated;
grant execute on function private.enqueue_alert(uuid, text, text, text, text, text, jsonb, text, timestamptz)
  to service_role;
