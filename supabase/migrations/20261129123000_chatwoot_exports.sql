-- Chatwoot exports processed on AWS: an export uploaded to S3 is split into slices that Lambda
-- workers process in parallel. These tables make that exactly-once: one row per uploaded object
-- version (so one etl_runs/sync_runs pair per export, however often S3 or SQS deliver), and one
-- row per slice (so the last slice to finish knows it, and the export is finished once).
-- Written only by the pipeline (service_role), read by the shop's members. No PII: object keys
-- are chosen by the operator who uploads, counts are numbers.

-- ===== tables =======================================================================
-- one row per uploaded export (bucket, key, version, etag)
create table public.chatwoot_exports (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  export_id text not null unique check (export_id ~ '^[0-9a-f]{32}$'),
  bucket text not null,
  object_key text not null,
  version_id text not null default '',
  etag text not null,
  etl_run_id bigint not null references public.etl_runs (id) on delete cascade,
  status text not null default 'splitting'
    check (status in ('splitting', 'processing', 'succeeded', 'failed')),
  n_records integer check (n_records >= 0),
  n_slices integer check (n_slices >= 0),
  input_checksum text check (input_checksum ~ '^[0-9a-f]{64}$'),
  input_kind text,
  corpus_uri text,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  unique (bucket, object_key, version_id, etag),
  check ((status in ('succeeded', 'failed')) = (finished_at is not null)),
  check (status <> 'failed' or error is not null),
  check (status <> 'processing' or n_slices is not null)
);
comment on table public.chatwoot_exports is
  'Chatwoot exports uploaded to S3 (exports/chatwoot/<shop>/...): one row per object version, its run and its corpus.';

-- one row per slice of an export (records start_index .. end_index - 1)
create table public.chatwoot_export_slices (
  export_id bigint not null references public.chatwoot_exports (id) on delete cascade,
  shop_id uuid not null references public.shops (id) on delete cascade,
  start_index integer not null check (start_index >= 0),
  end_index integer not null,
  status text not null default 'queued' check (status in ('queued', 'waiting_images', 'done', 'failed')),
  pass integer not null default 0 check (pass >= 0),
  -- [[account_id, conversation_id], ...] already held by earlier slices: here they are duplicates
  duplicate_keys jsonb not null default '[]'::jsonb check (jsonb_typeof(duplicate_keys) = 'array'),
  counts jsonb not null default '{}'::jsonb,
  redactions jsonb not null default '{}'::jsonb,
  rows_loaded integer not null default 0 check (rows_loaded >= 0),
  max_data_at timestamptz,
  error text,
  updated_at timestamptz not null default now(),
  primary key (export_id, start_index),
  check (end_index > start_index),
  check (status <> 'failed' or error is not null)
);
comment on table public.chatwoot_export_slices is
  'Progress of each slice of a Chatwoot export: queued, waiting for its images, done or failed, with its counts.';

-- ===== indexes ======================================================================
create index chatwoot_exports_shop_idx on public.chatwoot_exports (shop_id, created_at desc);
create index chatwoot_exports_run_idx on public.chatwoot_exports (etl_run_id);
create index chatwoot_export_slices_shop_idx on public.chatwoot_export_slices (shop_id);
-- what one slice wrote is found by run and write time (its privacy audit), not by scanning the shop
create index chatwoot_conversations_run_idx on public.chatwoot_conversations (loaded_run_id, updated_at);
create index rag_documents_run_idx on public.rag_documents (loaded_run_id, updated_at);
create index rag_attachments_run_idx on public.rag_attachments (loaded_run_id, updated_at);

-- ===== row level security ===========================================================
alter table public.chatwoot_exports enable row level security;
alter table public.chatwoot_export_slices enable row level security;

create policy members_read on public.chatwoot_exports
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.chatwoot_export_slices
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.chatwoot_exports, public.chatwoot_export_slices from anon, authenticated;
grant select on public.chatwoot_exports, public.chatwoot_export_slices to authenticated;
grant select, insert, update, delete on public.chatwoot_exports, public.chatwoot_export_slices to service_role;
