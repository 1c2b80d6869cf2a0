-- job: the registered job named p_name (private.jobs); OD010 when there is none.
create or replace function private.job(p_name text)
returns private.jobs
language plpgsql stable
set search_path = ''
as $$
declare
  v_job private.jobs;
begin
  select * into v_job from private.jobs j where j.name = p_name;
  if not found then
    raise exception 'unknown job "%"', p_name using errcode = 'OD010';
  end if;
  return v_job;
end
$$;
comment on function private.job(text) is 'The registered job of that name; raises OD010 for an unknown one.';
revoke execute on function private.job(text) from public, anon, authenticated;
grant execute on function private.job(text) to service_role;
