-- The action system's contract: recommenders propose, operators decide, executors execute.
-- Recommenders and executors write as service_role; app users change status only through
-- public.set_action_status (sql/functions/actions/set_action_status.sql), which checks the role.

-- ===== tables =======================================================================
-- one row per proposed action
create table public.actions (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id) on delete cascade,
  recommender text not null check (length(recommender) between 1 and 100),
  action_type text not null check (length(action_type) between 1 and 100),
  target_kind text not null check (target_kind in ('page', 'product')),
  target_ref text not null,
  modality text not null default 'text' check (modality in ('text', 'image')),
  status text not null default 'proposed'
    check (status in ('proposed', 'approved', 'rejected', 'executed', 'reverted')),
  proposed_at timestamptz not null default now(),
  decided_at timestamptz,
  decided_by uuid references auth.users (id) on delete set null,
  decision_note text,
  executed_at timestamptz,
  reverted_at timestamptz,
  payload jsonb not null default '{}'::jsonb,
  loaded_at timestamptz not null default now(),
  -- timestamps agree with the status they imply
  check ((status = 'proposed') = (decided_at is null)),
  check ((status in ('executed', 'reverted')) = (executed_at is not null)),
  check ((status = 'reverted') = (reverted_at is not null)),
  check (decided_at is null or decided_at >= proposed_at),
  check (executed_at is null or executed_at >= decided_at),
  check (reverted_at is null or reverted_at >= executed_at)
);
comment on table public.actions is
  'Actions proposed by AI recommenders; status moves proposed -> approved|rejected, approved -> executed -> reverted.';

-- ===== indexes ======================================================================
create index actions_status_idx on public.actions (shop_id, status, proposed_at desc);
create index actions_recommender_idx on public.actions (shop_id, recommender, proposed_at desc);
create index actions_target_idx on public.actions (shop_id, target_kind, target_ref);
create index actions_decided_by_idx on public.actions (decided_by);

-- ===== row level security ===========================================================
alter table public.actions enable row level security;

create policy members_read on public.actions
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.actions from anon, authenticated;
grant select on public.actions to authenticated;
grant select, insert, update, delete on public.actions to service_role;
