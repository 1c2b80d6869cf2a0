-- run_job: runs one registered job (private.jobs) and records the run in private.job_runs.
-- A failing job is recorded as failed (its own work rolled back) and reported as a warning, so
-- the failure survives in job_runs instead of vanishing with the caller's transaction.
-- Called by pg_cron and `opsdata jobs run`. Job commands return jsonb (their result summary).
-- Per-shop jobs (command takes the shop id as $1) run for p_shop_id, or for every shop when it
-- is NULL; each shop in its own subtransaction, so one shop's failure keeps the others' work.
-- The result is then {"shops": {"<domain>": result, ...}, "failed": {"<domain>": error, ...}}.
-- Errors: OD010 unknown job, OD003 a shop given to a job that takes none, OD002 unknown shop.
create or replace function private.run_job(p_name text, p_shop_id uuid default null)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_job private.jobs;
  v_run_id bigint;
  v_result jsonb;
  v_shop record;
  v_done jsonb := '{}'::jsonb;
  v_failed jsonb := '{}'::jsonb;
begin
  v_job := private.job(p_name);
  if p_shop_id is not null and not v_job.per_shop then
    raise exception 'job "%" runs for the whole database and takes no shop', p_name using errcode = 'OD003';
  end if;
  if p_shop_id is not null and not exists (select 1 from public.shops s where s.id = p_shop_id) then
    raise exception 'shop % not found', p_shop_id using errcode = 'OD002';
  end if;

  insert into private.job_runs (job_name) values (p_name) returning id into v_run_id;

  if not v_job.per_shop then
    begin
      execute 'select ' || v_job.command into v_result;
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
  end if;

  for v_shop in
    select s.id, s.domain from public.shops s
    where p_shop_id is null or s.id = p_shop_id
    order by s.domain
  loop
    select * into v_done, v_failed from private.run_job_for_shop(v_job, v_shop.id, v_shop.domain, v_done, v_failed);
  end loop;
  perform private.finish_job_run(v_run_id, v_done, v_failed);
  return v_run_id;
end
$$;
comment on function private.run_job(text, uuid) is
  'Runs a named job from private.jobs (per-shop jobs: for p_shop_id, or every shop when NULL) and records it in private.job_runs; returns the run id.';
revoke execute on function private.run_job(text, uuid) from public, anon, authenticated;
grant execute on function private.run_job(text, uuid) to service_role;
