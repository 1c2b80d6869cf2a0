-- The read API's response cache: shared by every API instance (Lambda execution environments,
-- local servers), keyed by endpoint, normalized parameters and the caller's shop scope.
-- Only the API's own connection role touches it (through private.api_cache_* functions);
-- app users have no access at all. Expired rows are purged by the job purge_api_cache.

-- ===== tables =======================================================================
-- one row per cached response (endpoint, normalized parameters and shop scope)
create table private.api_cache (
  key text primary key check (key ~ '^[0-9a-f]{64}$'),  -- sha256 of endpoint, parameters and scope
  endpoint text not null,
  shop_ids uuid[] not null,   -- the shops the response covers (for inspection and purges)
  data text not null,         -- the JSON array sent as "data", byte for byte
  total bigint,
  next_cursor text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  check (expires_at > created_at)
);
comment on table private.api_cache is
  'Read API response cache; rows are valid until expires_at and purged by the purge_api_cache job.';

-- ===== indexes ======================================================================
create index api_cache_expires_at_idx on private.api_cache (expires_at);

-- ===== row level security ===========================================================
-- No policies: only the table owner (the API's connection role) and service_role reach it.
alter table private.api_cache enable row level security;

-- ===== grants =======================================================================
revoke all on private.api_cache from public, anon, authenticated;
grant select, insert, update, delete on private.api_cache to service_role;

-- ===== schedules ====================================================================
select private.schedule_job(
  'purge_api_cache', '*/15 * * * *', 'private.purge_api_cache()',
  'Deletes expired read API cache entries.'
);
