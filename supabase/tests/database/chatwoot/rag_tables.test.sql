-- etl_runs, chatwoot_conversations, rag_documents, rag_attachments: the tenancy contract (anon
-- denied, non-members see nothing, members see only their shop, only service_role writes) and
-- the tables' own constraints.
begin;
select plan(67);

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

-- ===== the tenancy contract, table by table (tests.check_shop_table) =======================
select tests.check_shop_table('public.etl_runs',
  $$ insert into public.etl_runs (shop_id, source) select alpha, 'pgtap_new' from ids $$,
  $$ source = 'pgtap_new' $$);

select tests.check_shop_table('public.chatwoot_conversations',
  $$ insert into public.chatwoot_conversations (shop_id, account_id, conversation_id, document_id, channel, status,
       n_messages, n_turns, n_images, content_hash)
     select alpha, 1, 20, 'chatwoot:1:conv:20', 'web_widget', 'open', 2, 1, 0, repeat('a', 64) from ids $$,
  'conversation_id = 20');

select tests.check_shop_table('public.rag_documents',
  $$ insert into public.rag_documents (shop_id, node_id, account_id, conversation_id, class_name, text, metadata, node,
       node_hash)
     select alpha, 'chatwoot:1:conv:10:new', 1, 10, 'Document', 'Customer: again', '{}', '{}', repeat('c', 64) from ids $$,
  $$ node_id = 'chatwoot:1:conv:10:new' $$);

select tests.check_shop_table('public.rag_attachments',
  $$ insert into public.rag_attachments (shop_id, attachment_key, account_id, conversation_id, message_id, node_id, status)
     select alpha, '1:10:5:8', 1, 10, 5, 'chatwoot:1:conv:10:att:5:8', 'failed' from ids $$,
  $$ attachment_key = '1:10:5:8' $$);

-- ===== constraints ========================================================================
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
