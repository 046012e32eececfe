#!/usr/bin/env node
// qload.js URL [TABLE=qbench] [NPART=1000] [PER=100] [VALSIZE=100]: (re)creates a hash+range table (pk:S, sk:S)
// and loads NPART x PER items with a VALSIZE-byte "val" through BatchWriteItem, then checks one Query.
'use strict'
const http = require('http')
const [url, table = 'qbench', npart = '1000', per = '100', valsize = '100'] = process.argv.slice(2)
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
const AUTH = 'AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE/20240101/us-east-1/dynamodb/aws4_request, ' +
  'SignedHeaders=content-type;host;x-amz-date;x-amz-target, ' +
  'Signature=0000000000000000000000000000000000000000000000000000000000000000'

function call (target, payload) {
  const u = new URL(url)
  const body = JSON.stringify(payload)
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: u.hostname, port: u.port, path: '/', method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.' + target,
        'X-Amz-Date': '20240101T000000Z', Authorization: AUTH, 'Content-Length': Buffer.byteLength(body)
      }
    }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const pad = (i, n) => String(i).padStart(n, '0')

async function main () {
  await call('DeleteTable', { TableName: table })
  for (let i = 0; i < 50; i++) {
    const d = await call('DescribeTable', { TableName: table })
    if (d.status !== 200) break
    await sleep(100)
  }
  const c = await call('CreateTable', {
    TableName: table,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    BillingMode: 'PAY_PER_REQUEST'
  })
  if (c.status !== 200) throw new Error('CreateTable: ' + JSON.stringify(c.json))
  for (let i = 0; i < 100; i++) {
    const d = await call('DescribeTable', { TableName: table })
    if (d.json.Table && d.json.Table.TableStatus === 'ACTIVE') break
    await sleep(100)
  }
  const val = 'v'.repeat(Number(valsize))
  const total = Number(npart) * Number(per)
  let next = 0
  const t0 = Date.now()
  async function worker () {
    while (next < total) {
      const from = next
      next = Math.min(total, next + 25)
      let items = []
      for (let i = from; i < next; i++) {
        items.push({ PutRequest: { Item: { pk: { S: 'p' + pad(Math.floor(i / per), 6) }, sk: { S: 's' + pad(i % per, 4) }, val: { S: val } } } })
      }
      while (items.length > 0) {
        const r = await call('BatchWriteItem', { RequestItems: { [table]: items } })
        if (r.status !== 200) throw new Error('BatchWriteItem: ' + JSON.stringify(r.json))
        items = (r.json.UnprocessedItems && r.json.UnprocessedItems[table]) || []
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  const q = await call('Query', { TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' + pad(0, 6) } } })
  if (q.json.Count !== Number(per)) throw new Error('Query check: ' + JSON.stringify(q.json).slice(0, 200))
  console.log(`loaded ${total} items into ${table} in ${((Date.now() - t0) / 1000).toFixed(1)} s; Query check ok`)
}
main().catch(e => { console.error(e.message); process.exit(1) })
