-- Chatwoot history as PII-free RAG material: ETL runs, conversations, LlamaIndex nodes and
-- image attachments. Written only by the ETL (service_role), read by the shop's members.
-- Nothing here holds raw PII: texts and metadata are redacted before they are written, and
-- attachment URLs (signed, never expiring) are never stored.

-- ===== tables =======================================================================
-- one row per ETL execution (the matching sync_runs row is what freshness reads)
create table public.etl_runs (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  source text not null check (source ~ '^[a-z][a-z0-9_]*$'),
  sync_run_id bigint references public.sync_runs (id) on delete set null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  input_checksum text check (input_checksum ~ '^[0-9a-f]{64}$'),
  input_kind text,
  options jsonb not null default '{}'::jsonb,
  counts jsonb not null default '{}'::jsonb,
  redactions jsonb not null default '{}'::jsonb,
  error text,
  check ((status = 'running') = (finished_at is null)),
  check (status <> 'failed' or error is not null)
);
comment on table public.etl_runs is
  'One row per ETL execution: input checksum, options, counts, redaction counts by PII type.';

-- one row per shop and Chatwoot conversation (account, display id)
create table public.chatwoot_conversations (
  shop_id uuid not null references public.shops (id) on delete cascade,
  account_id bigint not null check (account_id > 0),
  conversation_id bigint not null check (conversation_id > 0),
  document_id text not null,
  inbox_id bigint,
  channel text not null,
  status text not null check (status in ('open', 'resolved', 'pending', 'snoozed')),
  priority text check (priority in ('low', 'medium', 'high', 'urgent')),
  labels text[] not null default '{}',
  language text,
  csat_rating smallint check (csat_rating between 1 and 5),
  n_messages integer not null check (n_messages >= 0),
  n_turns integer not null check (n_turns >= 0),
  n_images integer not null check (n_images >= 0),
  created_at timestamptz,
  resolved_at timestamptz,
  last_message_at timestamptz,
  content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
  loaded_run_id bigint references public.etl_runs (id) on delete set null,
  updated_at timestamptz not null default now(),
  primary key (shop_id, account_id, conversation_id)
);
comment on table public.chatwoot_conversations is
  'Chatwoot conversations loaded as RAG documents; content_hash changes only when the redacted corpus does.';

-- one row per LlamaIndex node (Document, Q/A TextNode, ImageNode)
create table public.rag_documents (
  shop_id uuid not null,
  node_id text not null,
  source text not null default 'chatwoot' check (source ~ '^[a-z][a-z0-9_]*$'),
  account_id bigint not null,
  conversation_id bigint not null,
  class_name text not null check (class_name in ('Document', 'TextNode', 'ImageNode')),
  text text not null check (length(text) > 0),
  metadata jsonb not null,
  node jsonb not null,  -- the node's to_dict(), loadable with llama-index-core
  node_hash text not null,
  loaded_run_id bigint references public.etl_runs (id) on delete set null,
  updated_at timestamptz not null default now(),
  primary key (shop_id, node_id),
  foreign key (shop_id, account_id, conversation_id)
    references public.chatwoot_conversations (shop_id, account_id, conversation_id) on delete cascade
);
comment on table public.rag_documents is
  'Redacted LlamaIndex nodes (to_dict form) for retrieval; one Document per conversation, one TextNode per turn, one ImageNode per stored image.';

-- one row per image attachment (key: account:conversation:message:attachment)
create table public.rag_attachments (
  shop_id uuid not null,
  attachment_key text not null check (attachment_key ~ '^[0-9]+:[0-9]+:[0-9]+:[0-9]+(\.[0-9]+)?$'),
  account_id bigint not null,
  conversation_id bigint not null,
  message_id bigint not null,
  attachment_id bigint,
  node_id text not null,
  status text not null check (status in ('ok', 'rejected', 'failed', 'skipped')),
  reason text,
  attempts integer not null default 0 check (attempts >= 0),
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  content_type text,
  width integer,
  height integer,
  size_bytes bigint,
  stored_path text,
  loaded_run_id bigint references public.etl_runs (id) on delete set null,
  updated_at timestamptz not null default now(),
  primary key (shop_id, attachment_key),
  check (status <> 'ok' or (sha256 is not null and stored_path is not null)),
  foreign key (shop_id, account_id, conversation_id)
    references public.chatwoot_conversations (shop_id, account_id, conversation_id) on delete cascade
);
comment on table public.rag_attachments is
  'Outcome of each image attachment (ok, rejected with reason, failed after N attempts, skipped); failed and skipped ones are fetched again by the next run. URLs are never stored.';

-- ===== indexes ======================================================================
create index etl_runs_shop_idx on public.etl_runs (shop_id, source, started_at desc);
create index rag_documents_conversation_idx on public.rag_documents (shop_id, account_id, conversation_id);
create index rag_attachments_conversation_idx on public.rag_attachments (shop_id, account_id, conversation_id);
create index rag_attachments_status_idx on public.rag_attachments (shop_id, status) where status <> 'ok';

-- ===== row level security ===========================================================
alter table public.etl_runs enable row level security;
alter table public.chatwoot_conversations enable row level security;
alter table public.rag_documents enable row level security;
alter table public.rag_attachments enable row level security;

create policy members_read on public.etl_runs
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.chatwoot_conversations
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.rag_documents
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.rag_attachments
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.etl_runs, public.chatwoot_conversations, public.rag_documents, public.rag_attachments
  from anon, authenticated;
grant select on public.etl_runs, public.chatwoot_conversations, public.rag_documents, public.rag_attachments
  to authenticated;
grant select, insert, update, delete
  on public.etl_runs, public.chatwoot_conversations, public.rag_documents, public.rag_attachments
  to service_role;
