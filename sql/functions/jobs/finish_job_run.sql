-- finish_job_run: closes a per-shop job's run in private.job_runs: succeeded when no shop failed,
-- else failed with every shop's error in `error`; the result is {"shops": p_done, "failed": p_failed}.
create or replace function private.finish_job_run(p_run_id bigint, p_done jsonb, p_failed jsonb)
returns void
language sql
set search_path = ''
as $$
  update private.job_runs
    set status = case when p_failed = '{}'::jsonb then 'succeeded' else 'failed' end,
        finished_at = clock_timestamp(),
        result = jsonb_build_object('shops', p_done, 'failed', p_failed),
        error = case when p_failed <> '{}'::jsonb then
                  (select string_agg(f.key || ': ' || (f.value #>> '{}'), '; ' order by f.key)
                   from jsonb_each(p_failed) f)
                end
    where id = p_run_id
$$;
comment on function private.finish_job_run(bigint, jsonb, jsonb) is
  'Marks a per-shop job run finished: succeeded, or failed with the failed shops'' errors.';
revoke execute on function private.finish_job_run(bigint, jsonb, jsonb) from public, anon, authenticated;
grant execute on function private.finish_job_run(bigint, jsonb, jsonb) to service_role;
