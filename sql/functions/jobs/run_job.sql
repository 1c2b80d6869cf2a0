-- run_job: runs one registered job (private.jobs) and records the run in private.job_runs.
-- A failing job is recorded as failed (its own work rolled back) and reported as a warning, so
-- the failure survives in job_runs instead of vanishing with the caller's transaction.
-- Called by pg_cron and `opsdata jobs run`. Job commands return jsonb (their result summary).
create or replace function private.run_job(p_name text)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_command text;
  v_run_id bigint;
  v_result jsonb;
begin
  select j.command into v_command from private.jobs j where j.name = p_name;
  if not found then
    raise exception 'unknown job "%"', p_name using errcode = 'OD010';
  end if;

  insert into private.job_runs (job_name) values (p_name) returning id into v_run_id;
  begin
    execute 'select ' || v_command into v_result;
    update private.job_runs
      set status = 'succeeded', finished_at = clock_timestamp(), result = v_result
      where id = v_run_id;
  exception when others then
    update private.job_runs
      set status = 'failed', finished_at = clock_timestamp(), error = sqlstate || ': ' || sqlerrm
      where id = v_run_id;
    raise warning 'job % failed: % %', p_name, sqlstate, sqlerrm;
  end;
  return v_run_id;
end
$$;
comment on function private.run_job(text) is
  'Runs a named job from private.jobs and records it in private.job_runs; returns the run id.';
revoke execute on function private.run_job(text) from public, anon, authenticated;
grant execute on function private.run_job(text) to service_role;
