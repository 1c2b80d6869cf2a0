-- Product affinity, compact baskets: each basket becomes an int4[] of per-shop product numbers,
-- so that the pairs of every basket can be counted by one sort of single int8 keys
-- ((number << 32) | other number) instead of hashing two bigint columns.
-- Why (CPU seconds, 471k baskets, 1.9M pair occurrences, 570k distinct pairs): hashing the pairs
-- cost 1.6 s (a 570k-entry hash table misses the CPU cache on nearly every row), sorting one int8
-- key 0.4 s; a product id is a bigint, so two of them do not fit one int8: a dense number per shop
-- and product does. Design and figures: sql/README.md, section "Product affinity".

-- ===== tables =======================================================================
-- one row per shop and product ever seen in a counted basket: its number there (1, 2, ...).
-- Numbers are never reused or reassigned, so stored baskets stay valid.
create table private.affinity_products (
  shop_id uuid not null,
  product_id bigint not null,
  product_no integer not null check (product_no > 0),
  primary key (shop_id, product_id),
  unique (shop_id, product_no)
);
comment on table private.affinity_products is
  'Dense per-shop product numbers of the affinity baskets (private.affinity_baskets.product_nos).';

-- one row per basket size k (1..64) and positions i <= j in a basket of that size: joining a
-- basket to the rows of its size lists its pairs, the diagonal (i = j) included, without a
-- function call per basket. Larger baskets are paired by unnest (private.affinity_pair_counts).
create table private.affinity_index_pairs (
  k integer not null,
  i integer not null,
  j integer not null,
  primary key (k, i, j),
  check (1 <= i and i <= j and j <= k)
);
comment on table private.affinity_index_pairs is
  'Positions (i <= j) of every pair in a basket of k products, k <= 64; constant. [backup: seeded]';
insert into private.affinity_index_pairs (k, i, j)
select k, i, j from generate_series(1, 64) k, generate_series(1, k) i, generate_series(i, k) j;

-- The stored baskets hold product numbers from now on. They are derived state: emptied here, and
-- every window is marked never computed, so the next refresh of every shop rebuilds them in full.
delete from private.affinity_baskets;
alter table private.affinity_baskets drop column product_ids;
alter table private.affinity_baskets add column product_nos integer[] not null;  -- distinct, ascending
comment on column private.affinity_baskets.product_nos is
  'The basket as counted: distinct product numbers (private.affinity_products), ascending.';
update private.affinity_windows set first_day = null, last_day = null, refreshed_at = null, refresh_mode = null;

-- ===== row level security ===========================================================
alter table private.affinity_products enable row level security;
alter table private.affinity_index_pairs enable row level security;

-- ===== grants =======================================================================
revoke all on private.affinity_products, private.affinity_index_pairs from public, anon, authenticated;
grant select, insert, update, delete on private.affinity_products to service_role;
grant select on private.affinity_index_pairs to service_role;

-- ===== cleanup =====================================================================
-- a deleted shop's product numbers go with its baskets (one statement per deleted batch)
create or replace function private.affinity_forget_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_table_name = 'shops' then
    delete from private.affinity_baskets b where b.shop_id in (select g.id from gone g);
    delete from private.affinity_products p where p.shop_id in (select g.id from gone g);
    delete from private.affinity_pair_totals t where t.shop_id in (select g.id from gone g);
  else
    delete from private.affinity_pair_totals t
    using gone g where t.shop_id = g.shop_id and t.window_days = g.window_days;
  end if;
  return null;
end
$$;

-- ===== functions ===================================================================
-- replaced by the refresh reading the changed orders' lines and numbering their products
drop function if exists private.affinity_baskets_of(uuid, date, date, bigint[]);
