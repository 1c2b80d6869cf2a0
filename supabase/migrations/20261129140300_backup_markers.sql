-- Backups (opsdata backup) discover tables from the catalog (schemas public and private) and
-- read markers in table comments: "[backup: seeded]" = rows come from migrations (restore
-- replaces them; they do not make a database non-empty), "[backup: skip]" = not backed up
-- (caches). private.jobs is filled by private.schedule_job() calls in migrations.
comment on table private.jobs is
  'Named scheduled jobs, declared by migrations through private.schedule_job(). [backup: seeded]';
comment on table private.job_runs is 'One row per job execution (private.run_job).';
