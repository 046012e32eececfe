#!/usr/bin/env node
// load.js: fills a table fast through the DynamoDB API (Node built-ins only), for bench/startup and bench/memory.
//
//   node load.js URL TABLE COUNT [CONC=16]
//
// Creates TABLE (hash key pk:S, on-demand) unless it exists, then writes COUNT items with BatchWriteItem, 25 at a
// time on CONC connections, retrying UnprocessedItems. Each item is 110 bytes by DynamoDB's size rules:
// pk = "k%07d" (2 + 8 bytes) and val = 97 characters (3 + 97). Requests carry a SigV4-shaped header with fake
// credentials, which a host that accepts any credentials (and dynalite) takes.
'use strict'
const http = require('http')

const [url, table, countText, concText] = process.argv.slice(2)
if (!url || !table || !countText) { console.error('usage: node load.js URL TABLE COUNT [CONC]'); process.exit(2) }
const count = Number(countText)
const conc = Number(concText || 16)
const agent = new http.Agent({ keepAlive: true, maxSockets: conc + 4 })
const u = new URL(url)
const AUTH = 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, ' +
  'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000'
const VAL = 'v'.repeat(97)

function call (target, payload) {
  const body = JSON.stringify(payload)
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: u.hostname, port: u.port, path: '/', method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.' + target,
        'X-Amz-Date': '20260101T000000Z', Authorization: AUTH, 'Content-Length': Buffer.byteLength(body),
      },
    }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        let json = {}
        try { json = text ? JSON.parse(text) : {} } catch { json = { raw: text } }
        resolve({ status: res.statusCode, json })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const sleep = ms => new Promise(r => setTimeout(r, ms))
const key = i => 'k' + String(i).padStart(7, '0')

async function main () {
  const created = await call('CreateTable', {
    TableName: table, BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  })
  if (created.status !== 200 && !/ResourceInUse/.test(JSON.stringify(created.json))) throw new Error('CreateTable: ' + JSON.stringify(created.json))
  for (let i = 0; ; i++) {
    const d = await call('DescribeTable', { TableName: table })
    if (d.json.Table && d.json.Table.TableStatus === 'ACTIVE') break
    if (i > 600) throw new Error('table did not become ACTIVE')
    await sleep(100)
  }

  const started = process.hrtime.bigint()
  let next = 0
  async function worker () {
    while (true) {
      const from = next; if (from >= count) return
      next = Math.min(count, from + 25)
      let requests = []
      for (let i = from; i < next; i++) requests.push({ PutRequest: { Item: { pk: { S: key(i) }, val: { S: VAL } } } })
      for (let attempt = 0; requests.length > 0; attempt++) {
        const r = await call('BatchWriteItem', { RequestItems: { [table]: requests } })
        if (r.status !== 200) {
          if (attempt > 50) throw new Error('BatchWriteItem: ' + r.status + ' ' + JSON.stringify(r.json))
          await sleep(20); continue
        }
        requests = (r.json.UnprocessedItems && r.json.UnprocessedItems[table]) || []
        if (requests.length > 0) await sleep(5)
      }
    }
  }
  await Promise.all(Array.from({ length: conc }, worker))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`loaded ${count} items of 110 bytes into ${table} in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} items/s)`)
}

main().catch(e => { console.error(e.message || e); process.exit(1) })
