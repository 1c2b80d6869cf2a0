-- run_job_for_shop: one shop's turn of a per-shop job (private.run_job, private.run_job_by_shop).
-- Runs the job's command for the shop in a subtransaction and adds its result to p_done, or its
-- error to p_failed (keyed by domain), so one shop's failure keeps the others' work. A failure
-- is also raised as a warning.
create or replace function private.run_job_for_shop(
  p_job private.jobs, p_shop_id uuid, p_domain text, inout p_done jsonb, inout p_failed jsonb)
language plpgsql
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  execute 'select ' || p_job.command into v_result using p_shop_id;
  p_done := p_done || jsonb_build_object(p_domain, v_result);
exception when others then
  p_failed := p_failed || jsonb_build_object(p_domain, sqlstate || ': ' || sqlerrm);
  raise warning 'job % failed for shop %: % %', p_job.name, p_domain, sqlstate, sqlerrm;
end
$$;
comment on function private.run_job_for_shop(private.jobs, uuid, text, jsonb, jsonb) is
  'Runs a per-shop job for one shop in a subtransaction; adds the result to p_done or the error to p_failed.';
revoke execute on function private.run_job_for_shop(private.jobs, uuid, text, jsonb, jsonb) from public, anon, authenticated;
grant execute on function private.run_job_for_shop(private.jobs, uuid, text, jsonb, jsonb) to service_role;
