-- source_label: the name people know a source by ("Google Search Console"); the key otherwise.
create or replace function private.source_label(p_source text)
returns text
language sql stable
set search_path = ''
as $$
  select coalesce((select d.label from private.source_defaults d where d.source = p_source), p_source)
$$;
comment on function private.source_label(text) is 'Display name of a source for messages and alerts.';
revoke execute on function private.source_label(text) from public, anon, authenticated;
grant execute on function private.source_label(text) to service_role;
