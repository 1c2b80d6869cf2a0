-- etl_runs, chatwoot_conversations, rag_documents, rag_attachments: anon denied, non-members see
-- nothing, members see only their shop, only service_role writes.
begin;
select plan(23);

select tests.create_two_shops('admin');

-- one conversation, node and attachment per shop, written as the ETL writes them
select tests.authenticate_as_service_role();
select lives_ok($$
  insert into public.etl_runs (shop_id, source) select s, 'chatwoot' from ids, unnest(array[alpha, beta]) s;
  insert into public.chatwoot_conversations (shop_id, account_id, conversation_id, document_id, channel, status,
    n_messages, n_turns, n_images, content_hash)
  select s, 1, 10, 'chatwoot:1:conv:10', 'web_widget', 'open', 2, 1, 1, repeat('a', 64)
  from ids, unnest(array[alpha, beta]) s;
  insert into public.rag_documents (shop_id, node_id, account_id, conversation_id, class_name, text, metadata, node,
    node_hash)
  select s, 'chatwoot:1:conv:10', 1, 10, 'Document', 'Customer: hi', '{}', '{}', repeat('b', 64)
  from ids, unnest(array[alpha, beta]) s;
  insert into public.rag_attachments (shop_id, attachment_key, account_id, conversation_id, message_id, node_id, status)
  select s, '1:10:5:6', 1, 10, 5, 'chatwoot:1:conv:10:att:5:6', 'failed' from ids, unnest(array[alpha, beta]) s;
$$, 'service_role writes every table');
select tests.clear_authentication();

select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.etl_runs', '42501', null, 'anon cannot read etl_runs');
select throws_ok('select count(*) from public.chatwoot_conversations', '42501', null, 'anon cannot read conversations');
select throws_ok('select count(*) from public.rag_documents', '42501', null, 'anon cannot read rag_documents');
select throws_ok('select count(*) from public.rag_attachments', '42501', null, 'anon cannot read rag_attachments');
select tests.clear_authentication();

select tests.authenticate_as((select stranger from ids));
select is_empty('select 1 from public.etl_runs', 'a non-member sees no run');
select is_empty('select 1 from public.chatwoot_conversations', 'a non-member sees no conversation');
select is_empty('select 1 from public.rag_documents', 'a non-member sees no node');
select is_empty('select 1 from public.rag_attachments', 'a non-member sees no attachment');
select tests.clear_authentication();

select tests.authenticate_as((select alpha_member from ids));
select results_eq('select shop_id from public.etl_runs', 'select alpha from ids', 'a member sees own runs only');
select results_eq('select shop_id from public.chatwoot_conversations', 'select alpha from ids',
  'a member sees own conversations only');
select results_eq('select shop_id from public.rag_documents', 'select alpha from ids', 'a member sees own nodes only');
select results_eq('select shop_id from public.rag_attachments', 'select alpha from ids',
  'a member sees own attachments only');
select throws_ok($$ insert into public.etl_runs (shop_id, source) select alpha, 'chatwoot' from ids $$,
  '42501', null, 'even an admin member cannot write etl_runs');
select throws_ok('update public.chatwoot_conversations set status = $$resolved$$', '42501', null,
  'a member cannot change conversations');
select throws_ok('delete from public.rag_documents', '42501', null, 'a member cannot delete nodes');
select throws_ok($$ update public.rag_attachments set status = 'ok' $$, '42501', null,
  'a member cannot change attachments');
select tests.clear_authentication();

select throws_ok($$ insert into public.rag_attachments (shop_id, attachment_key, account_id, conversation_id,
    message_id, node_id, status) select alpha, '1:10:5:7', 1, 10, 5, 'x', 'ok' from ids $$,
  '23514', null, 'an ok attachment needs its sha256 and stored path');
select throws_ok($$ insert into public.rag_documents (shop_id, node_id, account_id, conversation_id, class_name, text,
    metadata, node, node_hash) select alpha, 'n', 1, 10, 'Document', '', '{}', '{}', 'h' from ids $$,
  '23514', null, 'a node never has empty text');
select throws_ok($$ insert into public.rag_documents (shop_id, node_id, account_id, conversation_id, class_name, text,
    metadata, node, node_hash) select alpha, 'n', 1, 99, 'Document', 'x', '{}', '{}', 'h' from ids $$,
  '23503', null, 'a node belongs to a loaded conversation');
select throws_ok($$ insert into public.chatwoot_conversations (shop_id, account_id, conversation_id, document_id,
    channel, status, n_messages, n_turns, n_images, content_hash)
    select alpha, 1, 11, 'd', 'web', 'archived', 0, 0, 0, repeat('a', 64) from ids $$,
  '23514', null, 'conversation status is one of Chatwoot''s');
select lives_ok($$ delete from public.chatwoot_conversations where conversation_id = 10 $$,
  'deleting a conversation (as the owner) cascades');
select is((select count(*)::int from public.rag_documents where conversation_id = 10 and shop_id in (select alpha from ids union select beta from ids)), 0, 'its nodes went with it');

select * from finish();
rollback;
