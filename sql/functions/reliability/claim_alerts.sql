-- claim_alerts: hands up to p_limit due alerts to one deliverer. Rows are locked with
-- FOR UPDATE SKIP LOCKED and leased (next_attempt_at moves p_lease ahead, attempts + 1) before the
-- claim commits, so concurrent deliverers never get the same alert; a deliverer that dies leaves
-- its alerts to be claimed again when the lease ends. Oldest first.
create or replace function private.claim_alerts(p_limit integer default 20, p_lease interval default interval '5 minutes')
returns table (
  id bigint, shop_id uuid, shop_name text, shop_domain text, kind text, severity text, source text,
  title text, message text, details jsonb, created_at timestamptz, attempts integer
)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception 'p_limit must be between 1 and 500 (got %)', p_limit using errcode = 'OD003';
  end if;
  return query
  with due as (
    select a.id from public.alerts a
    where a.delivery_status = 'queued' and a.next_attempt_at <= now()
    order by a.next_attempt_at, a.id
    limit p_limit
    for update skip locked
  ),
  claimed as (
    update public.alerts a
    set attempts = a.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + p_lease
    from due where a.id = due.id
    returning a.*
  )
  select c.id, c.shop_id, s.name, s.domain, c.kind, c.severity, c.source, c.title, c.message, c.details,
         c.created_at, c.attempts
  from claimed c join public.shops s on s.id = c.shop_id
  order by c.created_at, c.id;
end
$$;
comment on function private.claim_alerts(integer, interval) is
  'Claims (leases) up to p_limit queued alerts that are due, skipping rows another deliverer holds.';
revoke execute on function private.claim_alerts(integer, interval) from public, anon, authenticated;
grant execute on function private.claim_alerts(integer, interval) to service_role;
