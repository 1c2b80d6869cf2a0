-- affinity_pair_counts: co-occurrence counts of a shop's stored baskets (private.affinity_baskets)
-- on days p_from..p_to, in product numbers (private.affinity_products): one row per pair
-- product_no < other_product_no, plus the diagonal (product_no = other_product_no: baskets holding
-- the product), each with n >= p_min_count. What the full refresh stores as pair totals, and what
-- the rules of private.affinity_rules_of_baskets are computed from.
--
-- Every pair occurrence becomes one int8 key (number << 32 | other number) and the keys are counted
-- by one sort: sorting 3M int8 keys costs a fourth of hashing 570k distinct pairs (a hash table that
-- large misses the CPU cache on nearly every row), and Postgres hashes an int8 as hash(low ^ high),
-- which collides for keys like these. Baskets of up to 64 products take their pairs from the
-- constant table private.affinity_index_pairs (a hash join on the basket's size, no function call
-- per basket); larger ones, rare, are paired by unnest.
create or replace function private.affinity_pair_counts(
  p_shop_id uuid,
  p_from date,
  p_to date,
  p_min_count integer default 1
)
returns table (product_no integer, other_product_no integer, n bigint)
language sql
stable
set search_path = ''
set jit = off                 -- compiling costs more than it saves here
set enable_hashagg = off      -- count the keys by sorting (above)
set enable_mergejoin = off    -- the basket size join is a hash join on a 46k-row table
set enable_nestloop = off
set work_mem = '160MB'        -- 3M keys sort in memory at 500k orders (100 MB)
as $$
  with baskets as (
    select b.product_nos
    from private.affinity_baskets b
    where b.shop_id = p_shop_id and b.day between p_from and p_to
  ),
  occurrences as (
    select (b.product_nos[p.i]::bigint << 32) | b.product_nos[p.j] as pair_key
    from baskets b
    join private.affinity_index_pairs p on p.k = cardinality(b.product_nos)
    union all
    select (a.product_no::bigint << 32) | c.product_no
    from baskets b
    cross join lateral unnest(b.product_nos) a (product_no)
    cross join lateral unnest(b.product_nos) c (product_no)
    where cardinality(b.product_nos) > 64 and a.product_no <= c.product_no
    offset 0  -- the sort gets the keys alone, not the baskets they came from
  )
  select (o.pair_key >> 32)::integer, (o.pair_key & 4294967295)::integer, count(*)
  from occurrences o
  group by o.pair_key
  having count(*) >= p_min_count
$$;
comment on function private.affinity_pair_counts(uuid, date, date, integer) is
  'Co-occurrence counts (pairs and diagonal, in product numbers) of the stored affinity baskets of a shop for days p_from..p_to, n >= p_min_count.';
revoke execute on function private.affinity_pair_counts(uuid, date, date, integer) from public, anon, authenticated;
grant execute on function private.affinity_pair_counts(uuid, date, date, integer) to service_role;
