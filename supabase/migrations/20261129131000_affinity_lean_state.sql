-- Product affinity, faster refreshes: the two large state tables lose their foreign keys, and the
-- reverse lookup of pair totals becomes a hash index.
-- A foreign key checks every inserted row with a query of its own: 2.3 of the 3.2 CPU seconds
-- of writing 470k baskets (500k orders) went to those checks, and the pair totals (570k rows)
-- paid the same. Both tables are derived state, written only by private.refresh_affinity, which
-- takes the shop and the window from rows it has just read; what the keys still did, removing a
-- deleted shop's or window's rows, a statement-level trigger does below.
-- Design and figures: sql/README.md, section "Product affinity".

-- ===== constraints =================================================================
alter table private.affinity_baskets drop constraint if exists affinity_baskets_shop_id_fkey;
alter table private.affinity_pair_totals drop constraint if exists affinity_pair_totals_shop_id_window_days_fkey;

-- The daily refresh applies its changes with one upsert (a fifth cheaper than MERGE per row) and
-- deletes the totals that reached 0 right after, in the same transaction. A check on n_together
-- cannot stay: Postgres checks the row an upsert proposes before it finds the conflict, and that
-- row carries the change (negative for pairs leaving the window), not the new total. The refresh
-- raises instead if any total it wrote is negative (refresh_affinity.sql).
alter table private.affinity_pair_totals drop constraint if exists affinity_pair_totals_n_together_check;

-- ===== indexes ====================================================================
-- Rules into a product (other_product_id = X) are read through this index. A B-tree on
-- (shop, window, other, product) cost 3.7 of the 4.8 CPU seconds of writing 570k totals in a full
-- refresh (every insert compares four columns at each level, in random order); a hash index on
-- the product alone costs a third of that and answers the same equality lookups (product ids are
-- unique per shop, the shop and window are checked on the few rows it returns).
drop index private.affinity_pair_totals_other_idx;
create index affinity_pair_totals_other_idx on private.affinity_pair_totals using hash (other_product_id)
  where product_id < other_product_id;

-- ===== cleanup =====================================================================
-- one statement per deleted batch of shops or windows (not per row)
create function private.affinity_forget_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_table_name = 'shops' then
    delete from private.affinity_baskets b where b.shop_id in (select g.id from gone g);
    delete from private.affinity_pair_totals t where t.shop_id in (select g.id from gone g);
  else
    delete from private.affinity_pair_totals t
    using gone g where t.shop_id = g.shop_id and t.window_days = g.window_days;
  end if;
  return null;
end
$$;
comment on function private.affinity_forget_deleted() is
  'Trigger: removes the affinity baskets and pair totals of deleted shops, the pair totals of deleted windows.';
revoke execute on function private.affinity_forget_deleted() from public, anon, authenticated;

create trigger affinity_forget_deleted after delete on public.shops
  referencing old table as gone for each statement execute function private.affinity_forget_deleted();
create trigger affinity_forget_deleted after delete on private.affinity_windows
  referencing old table as gone for each statement execute function private.affinity_forget_deleted();

-- ===== state ======================================================================
-- The state's format is unchanged; the next refresh of every shop recomputes in full anyway, so
-- that totals written before this migration and after it come from one definition of a basket.
update private.affinity_windows set first_day = null, last_day = null, refreshed_at = null, refresh_mode = null;
