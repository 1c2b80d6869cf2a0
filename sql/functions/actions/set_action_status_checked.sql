-- set_action_status_checked: the checked status change behind public.set_action_status.
-- SECURITY DEFINER (app users have no UPDATE grant on actions): it checks the caller itself.
-- Allowed transitions: proposed -> approved | rejected; approved -> executed | rejected;
-- executed -> reverted. App users need operator or admin on the action's shop; jobs and
-- executors (service_role, postgres) may make any allowed transition.
create or replace function private.set_action_status_checked(p_action_id uuid, p_status text, p_note text)
returns public.actions
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_action public.actions;
  v_now timestamptz := now();
  v_privileged boolean := private.is_privileged_caller();
begin
  if p_status is null or p_status not in ('approved', 'rejected', 'executed', 'reverted') then
    raise exception 'status must be one of approved, rejected, executed, reverted (got %)',
      coalesce(p_status, 'null') using errcode = 'OD003';
  end if;

  select * into v_action from public.actions a where a.id = p_action_id for update;
  -- a non-member learns nothing about other shops' actions: same answer as a missing id
  if not found or not (v_privileged or private.has_shop_role(v_action.shop_id, 'viewer')) then
    raise exception 'action % not found', p_action_id using errcode = 'OD002';
  end if;
  if not (v_privileged or private.has_shop_role(v_action.shop_id, 'operator')) then
    raise exception 'changing an action''s status needs the operator or admin role on its shop'
      using errcode = '42501';
  end if;

  if not (
    (v_action.status = 'proposed' and p_status in ('approved', 'rejected'))
    or (v_action.status = 'approved' and p_status in ('executed', 'rejected'))
    or (v_action.status = 'executed' and p_status = 'reverted')
  ) then
    raise exception 'an action that is % cannot become %', v_action.status, p_status
      using errcode = 'OD001';
  end if;

  update public.actions a
  set status = p_status,
      decided_at = case when p_status in ('approved', 'rejected') then v_now else a.decided_at end,
      decided_by = case when p_status in ('approved', 'rejected') then auth.uid() else a.decided_by end,
      decision_note = case when p_status in ('approved', 'rejected') then p_note else a.decision_note end,
      executed_at = case when p_status = 'executed' then greatest(v_now, a.decided_at) else a.executed_at end,
      reverted_at = case when p_status = 'reverted' then greatest(v_now, a.executed_at) else a.reverted_at end
  where a.id = p_action_id
  returning * into v_action;
  return v_action;
end
$$;
comment on function private.set_action_status_checked(uuid, text, text) is
  'Checked action status change (role and transition); called through public.set_action_status.';
revoke execute on function private.set_action_status_checked(uuid, text, text) from public, anon;
grant execute on function private.set_action_status_checked(uuid, text, text) to authenticated, service_role;
