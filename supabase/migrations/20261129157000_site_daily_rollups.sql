-- The site's daily sums per source, kept with the landing tables, so the site's baseline reads
-- one row per day instead of every page's rows of the window (190k rows at bench scale: the
-- site's baseline_for took 32 ms in SQL, 121 ms p95 through the HTTP API).
-- Exact: integer and numeric sums, maintained by statement-level triggers in the same
-- transaction as the landing rows (inserts, COPY, upserts, updates, deletes, a shop's removal),
-- each adding the statement's delta grouped by (shop, day). A day whose last page row goes is
-- removed, so a rollup row exists exactly when the source has rows that day.

-- ===== tables =======================================================================
create table public.gsc_site_daily (
  shop_id uuid not null references public.shops (id) on delete cascade,
  date date not null,
  page_rows integer not null check (page_rows >= 0),  -- gsc_page_daily rows summed (0: being removed)
  clicks bigint not null,
  impressions bigint not null,
  position_weighted numeric not null,  -- sum(position * impressions): impression-weighted position's numerator
  primary key (shop_id, date)
);
comment on table public.gsc_site_daily is
  'Search Console summed over every page per shop and day (the site''s baseline). Kept by triggers on gsc_page_daily.';

create table public.ga_site_daily (
  shop_id uuid not null references public.shops (id) on delete cascade,
  date date not null,
  page_rows integer not null check (page_rows >= 0),  -- ga_page_daily rows summed (0: being removed)
  sessions bigint not null,
  transactions bigint not null,
  purchase_revenue numeric not null,
  primary key (shop_id, date)
);
comment on table public.ga_site_daily is
  'GA4 summed over every landing page per shop and day (the site''s baseline). Kept by triggers on ga_page_daily.';

-- ===== maintenance ==================================================================
-- One statement per landing statement: its rows grouped by (shop, day), new rows added and old
-- rows subtracted (an upsert's update: new minus old). Keys gaining rows are upserted; the
-- others updated, then removed when no page row is left (a delete of a removed shop's rows finds
-- nothing left to update: its rollup rows went with the shop). The transition tables are
-- only visible to the statements of the trigger's own operation, hence the text per operation.
create or replace function private.site_daily_apply()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_rollup text := case tg_table_name when 'gsc_page_daily' then 'public.gsc_site_daily' else 'public.ga_site_daily' end;
  -- the rollup's summed columns and each one's value in a landing row
  v_cols text[] := case tg_table_name
    when 'gsc_page_daily' then array['clicks', 'impressions', 'position_weighted']
    else array['sessions', 'transactions', 'purchase_revenue'] end;
  v_exprs text[] := case tg_table_name
    when 'gsc_page_daily' then array['clicks', 'impressions', 'position * impressions']
    else array['sessions', 'transactions', 'purchase_revenue'] end;
  v_rows text;
  v_emptied_shops uuid[];
  v_emptied_days date[];
begin
  v_rows := case tg_op
    when 'INSERT' then format('select shop_id, date, 1 as n, %s from new_table', array_to_string(v_exprs, ', '))
    when 'DELETE' then format('select shop_id, date, -1 as n, -(%s) from old_table', array_to_string(v_exprs, '), -('))
    else format('select shop_id, date, 1 as n, %s from new_table union all select shop_id, date, -1, -(%s) from old_table',
                array_to_string(v_exprs, ', '), array_to_string(v_exprs, '), -('))
  end;
  execute format(
    $sql$
      with delta as materialized (
        select shop_id, date, sum(n)::integer as page_rows, %1$s
        from (%2$s) r (shop_id, date, n, %3$s)
        group by shop_id, date
      ),
      grown as (
        insert into %4$s as t (shop_id, date, page_rows, %3$s)
        select shop_id, date, page_rows, %3$s from delta where page_rows > 0
        order by shop_id, date
        on conflict (shop_id, date) do update set page_rows = t.page_rows + excluded.page_rows, %5$s
      ),
      shrunk as (
        update %4$s t set page_rows = t.page_rows + d.page_rows, %6$s
        from delta d
        where d.page_rows <= 0 and t.shop_id = d.shop_id and t.date = d.date
        returning t.shop_id, t.date, t.page_rows
      )
      select array_agg(shop_id), array_agg(date) from shrunk where page_rows = 0
    $sql$,
    (select string_agg(format('sum(%1$I) as %1$I', c), ', ') from unnest(v_cols) c),
    v_rows,
    array_to_string(v_cols, ', '),
    v_rollup,
    (select string_agg(format('%1$I = t.%1$I + excluded.%1$I', c), ', ') from unnest(v_cols) c),
    (select string_agg(format('%1$I = t.%1$I + d.%1$I', c), ', ') from unnest(v_cols) c)
  ) into v_emptied_shops, v_emptied_days;
  -- a day left without page rows goes (a CTE cannot delete the row its sibling updated)
  if v_emptied_shops is not null then
    execute format('delete from %s t using unnest($1, $2) e (shop_id, date) where t.shop_id = e.shop_id and t.date = e.date',
                   v_rollup)
      using v_emptied_shops, v_emptied_days;
  end if;
  return null;
end
$$;
comment on function private.site_daily_apply() is
  'Statement trigger on gsc_page_daily / ga_page_daily: adds the statement''s rows (new minus old) to the site''s daily rollup.';
revoke execute on function private.site_daily_apply() from public, anon, authenticated;

create trigger site_daily_insert after insert on public.gsc_page_daily
  referencing new table as new_table for each statement execute function private.site_daily_apply();
create trigger site_daily_update after update on public.gsc_page_daily
  referencing old table as old_table new table as new_table for each statement execute function private.site_daily_apply();
create trigger site_daily_delete after delete on public.gsc_page_daily
  referencing old table as old_table for each statement execute function private.site_daily_apply();
create trigger site_daily_insert after insert on public.ga_page_daily
  referencing new table as new_table for each statement execute function private.site_daily_apply();
create trigger site_daily_update after update on public.ga_page_daily
  referencing old table as old_table new table as new_table for each statement execute function private.site_daily_apply();
create trigger site_daily_delete after delete on public.ga_page_daily
  referencing old table as old_table for each statement execute function private.site_daily_apply();

-- ===== backfill =====================================================================
-- One statement (the Supabase CLI does not wrap a migration in a transaction): with the landing
-- tables locked against writes, whatever the triggers added since they were created is replaced
-- by the full sums, so no row is missed or counted twice.
do $$
begin
  lock table public.gsc_page_daily, public.ga_page_daily in share row exclusive mode;
  delete from public.gsc_site_daily;
  delete from public.ga_site_daily;
  insert into public.gsc_site_daily (shop_id, date, page_rows, clicks, impressions, position_weighted)
  select shop_id, date, count(*), sum(clicks), sum(impressions), sum(position * impressions)
  from public.gsc_page_daily group by shop_id, date;
  insert into public.ga_site_daily (shop_id, date, page_rows, sessions, transactions, purchase_revenue)
  select shop_id, date, count(*), sum(sessions), sum(transactions), sum(purchase_revenue)
  from public.ga_page_daily group by shop_id, date;
end
$$;

-- ===== row level security ===========================================================
alter table public.gsc_site_daily enable row level security;
alter table public.ga_site_daily enable row level security;
create policy members_read on public.gsc_site_daily
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.ga_site_daily
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.gsc_site_daily, public.ga_site_daily from anon, authenticated;
grant select on public.gsc_site_daily, public.ga_site_daily to authenticated;
grant select, insert, update, delete on public.gsc_site_daily, public.ga_site_daily to service_role;
