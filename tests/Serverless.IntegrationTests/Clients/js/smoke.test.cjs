// Smoke suite of the AWS SDK for JavaScript v3 against the endpoint in DDB_ENDPOINT: the low-level client
// (@aws-sdk/client-dynamodb), the DocumentClient (@aws-sdk/lib-dynamodb) and the Streams client
// (@aws-sdk/client-dynamodb-streams), each pinned and installed by the C# test (JsSdkTests) into .tools/, which
// puts them on NODE_PATH. Run by node's own test runner: `node --test --test-reporter=tap smoke.test.cjs`.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const ddb = require('@aws-sdk/client-dynamodb');
const lib = require('@aws-sdk/lib-dynamodb');
const streams = require('@aws-sdk/client-dynamodb-streams');

const endpoint = process.env.DDB_ENDPOINT;
if (!endpoint) throw new Error('DDB_ENDPOINT is not set');
const config = {
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
};
const client = new ddb.DynamoDBClient(config);
const doc = lib.DynamoDBDocumentClient.from(client, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
const table = `js-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;

test.before(async () => {
  await client.send(new ddb.CreateTableCommand({
    TableName: table,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'genre', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    GlobalSecondaryIndexes: [{
      IndexName: 'by-genre',
      KeySchema: [{ AttributeName: 'genre', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'ALL' },
    }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  }));
  await ddb.waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: table });
});

test.after(async () => {
  await client.send(new ddb.DeleteTableCommand({ TableName: table }));
  client.destroy();
});

test('tables: ListTables pages and DescribeTable describes the table and its index', async () => {
  const names = [];
  for await (const page of ddb.paginateListTables({ client, pageSize: 2 }, {})) names.push(...page.TableNames);
  assert.ok(names.includes(table), `ListTables lacks ${table}`);

  const { Table } = await client.send(new ddb.DescribeTableCommand({ TableName: table }));
  assert.equal(Table.TableStatus, 'ACTIVE');
  assert.match(Table.TableArn, new RegExp(`^arn:aws:dynamodb:us-east-1:\\d{12}:table/${table}$`));
  assert.equal(Table.BillingModeSummary.BillingMode, 'PAY_PER_REQUEST');
  assert.deepEqual(Table.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
  assert.equal(Table.GlobalSecondaryIndexes[0].IndexName, 'by-genre');
  assert.equal(Table.StreamSpecification.StreamViewType, 'NEW_AND_OLD_IMAGES');
  assert.ok(Table.LatestStreamArn.startsWith(Table.TableArn + '/stream/'));
});

test('items: PutItem, GetItem, UpdateItem and DeleteItem with the low-level client', async () => {
  const key = { pk: { S: 'item' }, sk: { S: '1' } };
  const put = await client.send(new ddb.PutItemCommand({
    TableName: table,
    Item: { ...key, title: { S: 'Spiegel im Spiegel' }, year: { N: '1978' } },
    ReturnConsumedCapacity: 'TOTAL',
  }));
  assert.equal(put.ConsumedCapacity.TableName, table);
  assert.equal(put.ConsumedCapacity.CapacityUnits, 1);

  const got = await client.send(new ddb.GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  assert.deepEqual(got.Item, { ...key, title: { S: 'Spiegel im Spiegel' }, year: { N: '1978' } });

  const updated = await client.send(new ddb.UpdateItemCommand({
    TableName: table,
    Key: key,
    UpdateExpression: 'SET #y = #y + :one, tags = :tags REMOVE title',
    ExpressionAttributeNames: { '#y': 'year' },
    ExpressionAttributeValues: { ':one': { N: '1' }, ':tags': { SS: ['minimal', 'piano'] } },
    ReturnValues: 'ALL_NEW',
  }));
  assert.deepEqual(updated.Attributes, { ...key, year: { N: '1979' }, tags: { SS: ['minimal', 'piano'] } });

  const deleted = await client.send(new ddb.DeleteItemCommand({ TableName: table, Key: key, ReturnValues: 'ALL_OLD' }));
  assert.equal(deleted.Attributes.year.N, '1979');
  const gone = await client.send(new ddb.GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  assert.equal(gone.Item, undefined);
});

test('DocumentClient: native JavaScript values are marshalled and read back unchanged', async () => {
  const item = {
    pk: 'doc',
    sk: 'types',
    text: 'héllo ✓',
    integer: 42,
    decimal: -0.125,
    yes: true,
    nothing: null,
    list: [1, 'two', { three: 3 }, [false]],
    map: { nested: { deeper: 'value' }, empty: {} },
    strings: new Set(['a', 'b']),
    numbers: new Set([1, 2.5]),
    bytes: new Uint8Array([0, 1, 2, 254, 255]),
    emptyString: '',
    dropped: undefined,
  };
  await doc.send(new lib.PutCommand({ TableName: table, Item: item }));

  // What was stored, seen through the low-level client: DynamoDB's own types.
  const raw = await client.send(new ddb.GetItemCommand({ TableName: table, Key: { pk: { S: 'doc' }, sk: { S: 'types' } } }));
  assert.deepEqual(raw.Item.integer, { N: '42' });
  assert.deepEqual(raw.Item.nothing, { NULL: true });
  assert.deepEqual(raw.Item.strings, { SS: ['a', 'b'] });
  assert.deepEqual(raw.Item.numbers.NS.slice().sort(), ['1', '2.5']);
  assert.deepEqual(raw.Item.list.L[2], { M: { three: { N: '3' } } });
  assert.ok(!('dropped' in raw.Item));

  const { Item } = await doc.send(new lib.GetCommand({ TableName: table, Key: { pk: 'doc', sk: 'types' }, ConsistentRead: true }));
  const { dropped, ...expected } = item;
  assert.equal(dropped, undefined);
  assert.deepEqual({ ...Item, bytes: Array.from(Item.bytes) }, { ...expected, bytes: [0, 1, 2, 254, 255] });

  // Numbers beyond a double's precision survive as NumberValue. (A DocumentClient's options end up on the client
  // it wraps, so this one gets a client of its own.)
  const preciseClient = new ddb.DynamoDBClient(config);
  const precise = lib.DynamoDBDocumentClient.from(preciseClient, { unmarshallOptions: { wrapNumbers: true } });
  await precise.send(new lib.PutCommand({ TableName: table, Item: { pk: 'doc', sk: 'big', n: lib.NumberValue.from('12345678901234567890123456789.5') } }));
  const big = await precise.send(new lib.GetCommand({ TableName: table, Key: { pk: 'doc', sk: 'big' } }));
  assert.equal(big.Item.n.toString(), '12345678901234567890123456789.5');
  preciseClient.destroy();
});

test('query and scan: key conditions, order, paging, filters and a global secondary index', async () => {
  for (let i = 0; i < 7; i++) {
    await doc.send(new lib.PutCommand({ TableName: table, Item: { pk: 'album', sk: `track#${i}`, n: i, genre: i % 2 ? 'odd' : 'even' } }));
  }
  const pages = [];
  for await (const page of lib.paginateQuery({ client: doc, pageSize: 3 }, {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': 'album', ':prefix': 'track#' },
    ScanIndexForward: false,
  })) pages.push(page);
  assert.deepEqual(pages.slice(0, 3).map((p) => p.Count), [3, 3, 1]);
  assert.deepEqual(pages.flatMap((p) => p.Items.map((i) => i.n)), [6, 5, 4, 3, 2, 1, 0]);

  const filtered = await doc.send(new lib.QueryCommand({
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b',
    FilterExpression: 'n > :min',
    ExpressionAttributeValues: { ':pk': 'album', ':a': 'track#1', ':b': 'track#5', ':min': 2 },
  }));
  assert.deepEqual(filtered.Items.map((i) => i.n), [3, 4, 5]);
  assert.equal(filtered.ScannedCount, 5);

  const odd = await doc.send(new lib.QueryCommand({
    TableName: table,
    IndexName: 'by-genre',
    KeyConditionExpression: 'genre = :g',
    ExpressionAttributeValues: { ':g': 'odd' },
  }));
  assert.deepEqual(odd.Items.map((i) => i.n).sort(), [1, 3, 5]);

  let scanned = 0;
  for await (const page of lib.paginateScan({ client: doc, pageSize: 4 }, {
    TableName: table,
    FilterExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': 'album' },
  })) scanned += page.Count;
  assert.equal(scanned, 7);
});

test('batch: BatchWrite of 25 items and BatchGet of them through the DocumentClient', async () => {
  const items = Array.from({ length: 25 }, (_, i) => ({ pk: 'batch', sk: String(i).padStart(2, '0'), i }));
  const written = await doc.send(new lib.BatchWriteCommand({
    RequestItems: { [table]: items.map((Item) => ({ PutRequest: { Item } })) },
  }));
  assert.deepEqual(written.UnprocessedItems, {});

  const read = await doc.send(new lib.BatchGetCommand({
    RequestItems: { [table]: { Keys: items.map(({ pk, sk }) => ({ pk, sk })), ProjectionExpression: 'sk, i' } },
  }));
  assert.deepEqual(read.Responses[table].map((r) => r.i).sort((a, b) => a - b), items.map((x) => x.i));
  assert.deepEqual(read.UnprocessedKeys, {});

  const removed = await doc.send(new lib.BatchWriteCommand({
    RequestItems: { [table]: items.slice(0, 10).map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })) },
  }));
  assert.deepEqual(removed.UnprocessedItems, {});
  const left = await doc.send(new lib.QueryCommand({
    TableName: table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': 'batch' },
    Select: 'COUNT',
  }));
  assert.equal(left.Count, 15);
});

test('transactions: TransactWrite commits all or nothing, TransactGet reads both', async () => {
  await doc.send(new lib.TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: table, Item: { pk: 'account', sk: 'a', balance: 100 } } },
      { Put: { TableName: table, Item: { pk: 'account', sk: 'b', balance: 0 } } },
    ],
  }));

  const transfer = (amount) => new lib.TransactWriteCommand({
    TransactItems: [
      {
        Update: {
          TableName: table,
          Key: { pk: 'account', sk: 'a' },
          UpdateExpression: 'SET balance = balance - :x',
          ConditionExpression: 'balance >= :x',
          ExpressionAttributeValues: { ':x': amount },
        },
      },
      {
        Update: {
          TableName: table,
          Key: { pk: 'account', sk: 'b' },
          UpdateExpression: 'SET balance = balance + :x',
          ExpressionAttributeValues: { ':x': amount },
        },
      },
    ],
  });
  await doc.send(transfer(30));
  await assert.rejects(doc.send(transfer(500)), (e) => {
    assert.equal(e.name, 'TransactionCanceledException');
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.deepEqual(e.CancellationReasons.map((r) => r.Code), ['ConditionalCheckFailed', 'None']);
    return true;
  });

  const both = await doc.send(new lib.TransactGetCommand({
    TransactItems: [
      { Get: { TableName: table, Key: { pk: 'account', sk: 'a' } } },
      { Get: { TableName: table, Key: { pk: 'account', sk: 'b' } } },
    ],
  }));
  assert.deepEqual(both.Responses.map((r) => r.Item.balance), [70, 30]);
});

test('errors: a failed condition is ConditionalCheckFailedException, with the item when asked', async () => {
  await doc.send(new lib.PutCommand({ TableName: table, Item: { pk: 'cond', sk: '1', v: 1 } }));
  await assert.rejects(
    doc.send(new lib.PutCommand({
      TableName: table,
      Item: { pk: 'cond', sk: '1', v: 2 },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    })),
    (e) => {
      assert.ok(e instanceof ddb.ConditionalCheckFailedException, `${e.name}: ${e.message}`);
      assert.equal(e.name, 'ConditionalCheckFailedException');
      assert.equal(e.message, 'The conditional request failed');
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.deepEqual(e.Item, { pk: { S: 'cond' }, sk: { S: '1' }, v: { N: '1' } });
      return true;
    },
  );

  await assert.rejects(client.send(new ddb.GetItemCommand({ TableName: table, Key: { pk: { S: 'only-half' } } })), (e) => {
    assert.equal(e.name, 'ValidationException');
    assert.equal(e.message, 'The provided key element does not match the schema');
    return true;
  });
  await assert.rejects(client.send(new ddb.DescribeTableCommand({ TableName: `${table}-missing` })), (e) => {
    assert.ok(e instanceof ddb.ResourceNotFoundException, `${e.name}: ${e.message}`);
    return true;
  });
});

test('streams: the Streams client reads the changes just made, in order, with both images', async () => {
  const sc = new streams.DynamoDBStreamsClient(config);
  try {
    await doc.send(new lib.PutCommand({ TableName: table, Item: { pk: 'stream', sk: '1', v: 'first' } }));
    await doc.send(new lib.UpdateCommand({
      TableName: table,
      Key: { pk: 'stream', sk: '1' },
      UpdateExpression: 'SET v = :v',
      ExpressionAttributeValues: { ':v': 'second' },
    }));
    await doc.send(new lib.DeleteCommand({ TableName: table, Key: { pk: 'stream', sk: '1' } }));

    const { Table } = await client.send(new ddb.DescribeTableCommand({ TableName: table }));
    const arn = Table.LatestStreamArn;
    const listed = await sc.send(new streams.ListStreamsCommand({ TableName: table }));
    assert.deepEqual(listed.Streams.map((s) => s.StreamArn), [arn]);
    const { StreamDescription } = await sc.send(new streams.DescribeStreamCommand({ StreamArn: arn }));
    assert.equal(StreamDescription.StreamStatus, 'ENABLED');
    assert.equal(StreamDescription.StreamViewType, 'NEW_AND_OLD_IMAGES');

    const mine = [];
    for (const shard of StreamDescription.Shards) {
      let { ShardIterator } = await sc.send(new streams.GetShardIteratorCommand({
        StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON',
      }));
      // An open shard always returns a next iterator: stop at the first empty page.
      for (let pages = 0; ShardIterator && pages < 100; pages++) {
        const got = await sc.send(new streams.GetRecordsCommand({ ShardIterator, Limit: 100 }));
        mine.push(...got.Records.filter((r) => r.dynamodb.Keys.pk.S === 'stream'));
        if (got.Records.length === 0) break;
        ShardIterator = got.NextShardIterator;
      }
    }
    assert.deepEqual(mine.map((r) => r.eventName), ['INSERT', 'MODIFY', 'REMOVE']);
    assert.equal(mine[0].eventSource, 'aws:dynamodb');
    assert.deepEqual(mine[1].dynamodb.OldImage.v, { S: 'first' });
    assert.deepEqual(mine[1].dynamodb.NewImage.v, { S: 'second' });
    assert.equal(mine[2].dynamodb.NewImage, undefined);
    assert.ok(BigInt(mine[0].dynamodb.SequenceNumber) < BigInt(mine[1].dynamodb.SequenceNumber));
  } finally {
    sc.destroy();
  }
});
