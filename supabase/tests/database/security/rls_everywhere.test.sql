-- Whole-schema guards: a table without RLS or a function anon can execute fails the suite,
-- whichever migration or function file introduced it.
begin;
select plan(5);

select is_empty(
  $$ select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in public has row level security enabled'
);

select is_empty(
  $$ select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'private' and c.relkind in ('r', 'p') and not c.relrowsecurity $$,
  'every table in private has row level security enabled'
);

select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('public', 'private') and has_function_privilege('anon', p.oid, 'execute') $$,
  'no function in public or private is executable by anon'
);

select is_empty(
  $$ select table_schema || '.' || table_name || ': ' || privilege_type
     from information_schema.role_table_grants
     where grantee in ('anon', 'PUBLIC') and table_schema in ('public', 'private') $$,
  'anon and PUBLIC hold no privilege on any table'
);

select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where p.prosecdef and n.nspname <> 'private'
       and n.nspname in ('public', 'private')
     union all
     select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where p.prosecdef and n.nspname = 'private'
       and not coalesce(p.proconfig @> array['search_path=""'], false) $$,
  'SECURITY DEFINER functions live only in private, each with an empty search_path'
);

select * from finish();
rollback;
