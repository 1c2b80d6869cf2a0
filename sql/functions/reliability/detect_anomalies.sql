-- detect_anomalies: the detect_anomalies job (hourly: shops' days end at different hours).
-- Runs private.detect_shop_anomalies for every shop (or p_shop_id); returns per-shop summaries.
create or replace function private.detect_anomalies(p_shop_id uuid default null, p_today date default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_shop uuid;
  v_result jsonb := '{}'::jsonb;
begin
  perform pg_advisory_xact_lock(hashtext('opsdata.detect_anomalies'));
  for v_shop in select s.id from public.shops s where p_shop_id is null or s.id = p_shop_id order by s.id loop
    v_result := v_result || jsonb_build_object(v_shop::text, private.detect_shop_anomalies(v_shop, p_today));
  end loop;
  return v_result;
end
$$;
comment on function private.detect_anomalies(uuid, date) is
  'Job detect_anomalies: anomaly detection for every shop (or one); returns a summary per shop.';
revoke execute on function private.detect_anomalies(uuid, date) from public, anon, authenticated;
grant execute on function private.detect_anomalies(uuid, date) to service_role;
