-- Chatwoot attachments: a failed download says whether retrying can help. The next run fetches
-- again only failures that may pass later (timeouts, 5xx, 429, a store that was down); a 404 or
-- another 4xx stays failed, like a rejection, with its reason (`opsdata etl chatwoot
-- --retry-permanent` fetches those again too).

-- ===== tables =======================================================================
alter table public.rag_attachments add column retryable boolean not null default false;
-- every failure recorded before this column was retried by the next run: keep that for them once
update public.rag_attachments set retryable = true where status = 'failed';
alter table public.rag_attachments
  add constraint rag_attachments_retryable_check check (not retryable or status = 'failed');

comment on column public.rag_attachments.retryable is
  'For a failed download: whether the next run tries again (false for 404 and other 4xx: permanent).';
comment on table public.rag_attachments is
  'Outcome of each image attachment (ok, rejected with reason, failed after N attempts, skipped); skipped ones and retryable failures are fetched again by the next run. URLs are never stored.';
