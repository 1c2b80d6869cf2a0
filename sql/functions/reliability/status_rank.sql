-- status_rank: orders statuses from best to worst; a source's status is the worst of its checks.
-- grey (could not be evaluated) is worse than green: nothing unverified passes as healthy.
create or replace function private.status_rank(p_status text)
returns integer
language sql immutable
set search_path = ''
as $$
  select case p_status when 'green' then 0 when 'grey' then 1 when 'yellow' then 2 when 'red' then 3 end
$$;
comment on function private.status_rank(text) is 'green 0 < grey 1 < yellow 2 < red 3.';
revoke execute on function private.status_rank(text) from public, anon;
grant execute on function private.status_rank(text) to authenticated, service_role;
