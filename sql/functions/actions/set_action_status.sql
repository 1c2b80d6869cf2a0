-- set_action_status: approve, reject, mark executed or revert an action.
-- Callable by authenticated (operator or admin of the action's shop) and service_role.
-- Errors: OD001 transition not allowed, OD002 action not found, OD003 bad status, 42501 role too low.
create or replace function public.set_action_status(p_action_id uuid, p_status text, p_note text default null)
returns public.actions
language sql
volatile
set search_path = ''
as $$
  select * from private.set_action_status_checked(p_action_id, p_status, p_note)
$$;
comment on function public.set_action_status(uuid, text, text) is
  'Moves an action to approved, rejected, executed or reverted; checks role and transition.';
revoke execute on function public.set_action_status(uuid, text, text) from public, anon;
grant execute on function public.set_action_status(uuid, text, text) to authenticated, service_role;
