-- purge_job_history: deletes job history older than p_keep (pg_cron's own history included:
-- cron.job_run_details is never purged by pg_cron itself). Job: purge_job_history (daily).
-- SECURITY DEFINER: service_role may run jobs but has no rights on schema cron (owner: postgres).
create or replace function private.purge_job_history(p_keep interval default interval '30 days')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_runs bigint;
  v_cron bigint := 0;
begin
  delete from private.job_runs where started_at < now() - p_keep and status <> 'running';
  get diagnostics v_runs = row_count;
  if to_regclass('cron.job_run_details') is not null then
    execute 'delete from cron.job_run_details where end_time < now() - $1' using p_keep;
    get diagnostics v_cron = row_count;
  end if;
  return jsonb_build_object('job_runs_deleted', v_runs, 'cron_details_deleted', v_cron);
end
$$;
comment on function private.purge_job_history(interval) is
  'Deletes private.job_runs and cron.job_run_details rows older than p_keep; returns the counts.';
revoke execute on function private.purge_job_history(interval) from public, anon, authenticated;
grant execute on function private.purge_job_history(interval) to service_role;
