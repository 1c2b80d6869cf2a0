-- Alert outbox: one alert per status change, no storm while a source stays red (a reminder at
-- most every reminder_every), recovery alerts, idempotent enqueue, claiming and backoff.
begin;
select plan(17);

create temporary table q on commit drop as
  select tests.create_shop('alerts.myshopify.com') as shop, timestamptz '2026-06-10 12:00:00+00' as t0;
select public.configure_data_source((select shop from q), 'feed', p_reminder_every_hours => 6);
-- last successful sync at t0 - 47 h: yellow now, red after one more hour
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at)
  select shop, 'feed', t0 - interval '47 hours 1 minute', t0 - interval '47 hours', 'succeeded', 0,
         t0 - interval '47 hours' from q;
-- give volume history so that only freshness and recency decide
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded)
  select shop, 'feed', t0 - make_interval(days => 7 * k), t0 - make_interval(days => 7 * k) + interval '1 minute',
         'succeeded', 0 from q, generate_series(1, 4) k;

create function pg_temp.run_at(p_offset interval) returns void language sql as $$
  select private.run_quality_checks((select t0 + p_offset from q), (select shop from q))
$$;
create function pg_temp.alerts() returns bigint language sql as $$
  select count(*) from public.alerts a join q on a.shop_id = q.shop
$$;

select pg_temp.run_at(interval '0');
select is(pg_temp.alerts(), 1::bigint, 'the first evaluation (yellow) raises one alert');
select pg_temp.run_at(interval '15 minutes');
select pg_temp.run_at(interval '30 minutes');
select is(pg_temp.alerts(), 1::bigint, 'staying yellow raises nothing more');
select pg_temp.run_at(interval '1 hour 1 second');
select is(pg_temp.alerts(), 2::bigint, 'turning red raises one alert');
select results_eq($$ select kind, severity, details ->> 'from', details ->> 'to' from public.alerts where shop_id = (select shop from q) order by id desc limit 1 $$,
  $$ values ('status_change', 'critical', 'yellow', 'red') $$, 'the alert says yellow -> red, critical');
select pg_temp.run_at(interval '2 hours');
select pg_temp.run_at(interval '4 hours');
select pg_temp.run_at(interval '7 hours');
select is(pg_temp.alerts(), 2::bigint, 'staying red for less than reminder_every (6 h) raises nothing');
select pg_temp.run_at(interval '7 hours 1 second');
select is(pg_temp.alerts(), 3::bigint, 'after 6 h of red one reminder');
select is((select kind from public.alerts where shop_id = (select shop from q) order by id desc limit 1), 'reminder', 'it is a reminder');
select pg_temp.run_at(interval '8 hours');
select pg_temp.run_at(interval '13 hours');
select is(pg_temp.alerts(), 3::bigint, 'no second reminder within 6 h of the first');
select pg_temp.run_at(interval '13 hours 1 second');
select is(pg_temp.alerts(), 4::bigint, 'the next reminder 6 h after the previous one');

-- recovery
insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at)
  select shop, 'feed', t0 + interval '14 hours', t0 + interval '14 hours 1 minute', 'succeeded', 0,
         t0 + interval '14 hours' from q;
select pg_temp.run_at(interval '14 hours 5 minutes');
select is(pg_temp.alerts(), 5::bigint, 'recovering raises one alert');
select results_eq($$ select kind, severity, title from public.alerts where shop_id = (select shop from q) order by id desc limit 1 $$,
  $$ values ('status_change', 'info', 'feed recovered: green (was red)') $$, 'the recovery alert says so');
select pg_temp.run_at(interval '14 hours 20 minutes');
select is(pg_temp.alerts(), 5::bigint, 'staying green raises nothing');

-- idempotent enqueue
select isnt(private.enqueue_alert((select shop from q), 'anomaly', 'warning', 'feed', 't', 'm', '{}', 'same-key'),
  null, 'a new alert gets an id');
select is(private.enqueue_alert((select shop from q), 'anomaly', 'warning', 'feed', 't', 'm', '{}', 'same-key'),
  null, 'the same dedupe key again inserts nothing');

-- claiming leases alerts; failures keep them queued with a backoff
-- (other shops' queued alerts may exist in this database: count only this shop's)
select is((select count(*)::integer from private.claim_alerts(500) c where c.shop_id = (select shop from q)), 6,
  'all six queued alerts are claimed');
select is((select count(*)::integer from private.claim_alerts(500) c where c.shop_id = (select shop from q)), 0,
  'claimed alerts are leased, not handed out twice');
select ok(private.mark_alert_failed((select max(id) from public.alerts where shop_id = (select shop from q)), 'HTTP 500', null) > now(),
  'a failed alert stays queued with a later next attempt');

select * from finish();
rollback;
