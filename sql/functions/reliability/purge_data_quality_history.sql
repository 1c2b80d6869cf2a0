-- purge_data_quality_history: deletes check results older than p_keep, except the latest of each
-- check (a source disabled for months still shows its last known result). Job: daily.
create or replace function private.purge_data_quality_history(p_keep interval default interval '30 days')
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_deleted bigint;
begin
  delete from public.data_quality_checks c
  where c.checked_at < now() - p_keep
    and exists (
      select 1 from public.data_quality_checks n
      where n.shop_id = c.shop_id and n.source = c.source and n.check_name = c.check_name
        and n.checked_at > c.checked_at
    );
  get diagnostics v_deleted = row_count;
  return jsonb_build_object('checks_deleted', v_deleted);
end
$$;
comment on function private.purge_data_quality_history(interval) is
  'Deletes data_quality_checks older than p_keep, keeping the latest result of every check.';
revoke execute on function private.purge_data_quality_history(interval) from public, anon, authenticated;
grant execute on function private.purge_data_quality_history(interval) to service_role;
