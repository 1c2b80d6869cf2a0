-- Data reliability, part 2: the alerts outbox. Quality checks (status changes, reminders) and
-- anomaly detection insert alerts here; the alert delivery Lambda claims queued alerts
-- (private.claim_alerts, FOR UPDATE SKIP LOCKED), posts them to a webhook and marks them
-- delivered or failed. An alert is never deleted by delivery: undeliverable ones stay queued.

-- ===== tables =======================================================================
-- one row per alert
create table public.alerts (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  kind text not null check (kind in ('status_change', 'reminder', 'anomaly')),
  severity text not null check (severity in ('info', 'warning', 'critical')),
  source text,
  title text not null,
  message text not null,
  details jsonb not null default '{}'::jsonb,
  -- what makes two alerts the same alert: a retried job inserts nothing twice
  dedupe_key text not null,
  created_at timestamptz not null default now(),
  delivery_status text not null default 'queued' check (delivery_status in ('queued', 'delivered')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz,
  last_error text,  -- never contains the webhook URL (it is a secret)
  delivered_at timestamptz,
  unique (shop_id, dedupe_key),
  check ((delivery_status = 'delivered') = (delivered_at is not null))
);
comment on table public.alerts is
  'Outbox of data reliability alerts (status changes, reminders, anomalies) and their webhook delivery state.';

-- ===== indexes ======================================================================
create index alerts_queue_idx on public.alerts (next_attempt_at, id) where delivery_status = 'queued';
create index alerts_shop_created_idx on public.alerts (shop_id, created_at desc, id desc);

-- ===== row level security ===========================================================
alter table public.alerts enable row level security;

create policy members_read on public.alerts
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.alerts from anon, authenticated;
grant select on public.alerts to authenticated;
grant select, insert, update, delete on public.alerts to service_role;
