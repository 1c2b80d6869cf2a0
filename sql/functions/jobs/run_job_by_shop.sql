-- run_job_by_shop: runs a per-shop job (private.jobs.per_shop) for every shop, each shop in its own
-- transaction: the run is recorded in private.job_runs and committed first (visible as running),
-- then each shop's work commits on its own, with the run's result updated after every shop. One
-- shop's failure is recorded and the others go on; a crash loses only the shop in progress.
-- pg_cron calls it (`call private.run_job_by_shop('refresh_affinity')`), as does
-- `opsdata jobs run NAME` without --shop. COMMIT inside a procedure works only when the CALL is
-- the whole top-level command (not inside a transaction block), and only without a SET clause or
-- SECURITY DEFINER: so no `set search_path` here; every name is schema-qualified instead.
-- p_run_id returns the job_runs id. Errors: OD010 unknown job, OD003 not a per-shop job.
create or replace procedure private.run_job_by_shop(p_name text, inout p_run_id bigint default null)
language plpgsql
as $$
declare
  v_job private.jobs;
  v_shop record;
  v_done jsonb := '{}'::jsonb;
  v_failed jsonb := '{}'::jsonb;
begin
  v_job := private.job(p_name);
  if not v_job.per_shop then
    raise exception 'job "%" runs for the whole database: use private.run_job', p_name using errcode = 'OD003';
  end if;

  insert into private.job_runs (job_name) values (p_name) returning id into p_run_id;
  commit;

  for v_shop in select s.id, s.domain from public.shops s order by s.domain loop
    select * into v_done, v_failed from private.run_job_for_shop(v_job, v_shop.id, v_shop.domain, v_done, v_failed);
    update private.job_runs set result = jsonb_build_object('shops', v_done, 'failed', v_failed)
    where id = p_run_id;
    commit;  -- this shop's work is kept whatever happens to the next
  end loop;

  perform private.finish_job_run(p_run_id, v_done, v_failed);
  commit;
end
$$;
comment on procedure private.run_job_by_shop(text, bigint) is
  'Runs a per-shop job for every shop, committing after each shop; records the run in private.job_runs (p_run_id).';
revoke execute on procedure private.run_job_by_shop(text, bigint) from public, anon, authenticated;
grant execute on procedure private.run_job_by_shop(text, bigint) to service_role;
