-- Scheduled jobs: a registry of named jobs, each calling exactly one documented SQL function
-- through private.run_job(name), which records every run in private.job_runs.
-- pg_cron runs only in the database named by cron.database_name (postgres on Supabase);
-- elsewhere (scratch and test databases) the registry is kept and nothing is scheduled.

-- ===== extensions ===================================================================
-- On Supabase `postgres` may enable pg_cron in the database pg_cron serves. Anywhere else it
-- is refused (another database: P0001; no rights: 42501; not installed: 58P01), and jobs are
-- registered without being scheduled (`opsdata db status` reports it).
do $$
begin
  create extension if not exists pg_cron;
exception
  when insufficient_privilege or raise_exception or undefined_file then
    raise notice 'pg_cron is not available in database %: jobs are registered, not scheduled (%)',
      current_database(), sqlerrm;
end
$$;

-- ===== tables =======================================================================
-- one row per named job
create table private.jobs (
  name text primary key check (name ~ '^[a-z][a-z0-9_]*$'),
  schedule text not null,  -- cron syntax, minute granularity (pg_cron 1.4)
  command text not null,   -- one SQL function call, e.g. 'private.purge_job_history()'
  description text not null
);

-- one row per job execution
create table private.job_runs (
  id bigint generated always as identity primary key,
  job_name text not null references private.jobs (name) on delete cascade,
  started_at timestamptz not null default clock_timestamp(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  result jsonb,
  error text
);
create index job_runs_job_name_idx on private.job_runs (job_name, started_at desc);

alter table private.jobs enable row level security;
alter table private.job_runs enable row level security;
revoke all on private.jobs, private.job_runs from public, anon, authenticated;
grant select, insert, update, delete on private.jobs, private.job_runs to service_role;

-- ===== scheduling ===================================================================
-- Migrations call this to declare a job; it lives here because migrations depend on it.
create function private.schedule_job(p_name text, p_schedule text, p_command text, p_description text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into private.jobs (name, schedule, command, description)
  values (p_name, p_schedule, p_command, p_description)
  on conflict (name) do update
    set schedule = excluded.schedule, command = excluded.command, description = excluded.description;

  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    -- same name upserts the cron entry
    perform cron.schedule(p_name, p_schedule, format('select private.run_job(%L)', p_name));
  end if;
end
$$;
comment on function private.schedule_job(text, text, text, text) is
  'Declares (or updates) a named job and schedules it with pg_cron where pg_cron runs.';
revoke execute on function private.schedule_job(text, text, text, text) from public, anon, authenticated;

-- ===== schedules ====================================================================
select private.schedule_job(
  'purge_job_history', '17 3 * * *', 'private.purge_job_history()',
  'Deletes job run history older than 30 days (pg_cron never purges cron.job_run_details).'
);
