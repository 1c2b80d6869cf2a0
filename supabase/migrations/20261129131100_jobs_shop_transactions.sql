-- Per-shop jobs commit shop by shop. pg_cron ran `select private.run_job('refresh_affinity')`:
-- one statement, so every shop's refresh was one transaction (hours of locks and of WAL held for
-- the slowest shop, everything redone after a crash). A procedure may COMMIT between shops when it
-- is the whole command (pg_cron 1.4 runs a single-statement command as a top-level statement, in
-- its background workers as over libpq), so per-shop jobs are now scheduled as
-- `call private.run_job_by_shop('<name>')` (sql/functions/jobs/run_job_by_shop.sql).

-- ===== scheduling ===================================================================
create or replace function private.schedule_job(p_name text, p_schedule text, p_command text, p_description text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_per_shop boolean;
begin
  insert into private.jobs (name, schedule, command, description)
  values (p_name, p_schedule, p_command, p_description)
  on conflict (name) do update
    set schedule = excluded.schedule, command = excluded.command, description = excluded.description
  returning per_shop into v_per_shop;

  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    -- same name upserts the cron entry; per-shop jobs commit after each shop
    perform cron.schedule(p_name, p_schedule,
      case when v_per_shop then format('call private.run_job_by_shop(%L)', p_name)
           else format('select private.run_job(%L)', p_name) end);
  end if;
end
$$;
comment on function private.schedule_job(text, text, text, text) is
  'Declares (or updates) a named job and schedules it with pg_cron where pg_cron runs (per-shop jobs as a procedure that commits after each shop).';
revoke execute on function private.schedule_job(text, text, text, text) from public, anon, authenticated;

-- ===== schedules ====================================================================
-- the per-shop jobs declared before this migration
select private.schedule_job(j.name, j.schedule, j.command, j.description)
from private.jobs j where j.per_shop;
