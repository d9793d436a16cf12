// protobufjs client for the protoecho Go server (interop/interop_test.go).
// Usage: node client.js PROTO_FILE HOST PORT
// Calls unary, streaming and cancel over varint length-delimited protobuf
// (encodeDelimited / decodeDelimited); prints "ok: ..." lines and exits 0,
// or prints "FAIL: ..." and exits 1 on the first mismatch.
'use strict';
const net = require('net');
const protobuf = require('protobufjs');

const [protoFile, host, port] = process.argv.slice(2);

function fail(msg) {
  console.log('FAIL: ' + msg);
  process.exit(1);
}
setTimeout(() => fail('timeout after 20s'), 20000).unref();

async function main() {
  const root = await protobuf.load(protoFile);
  const Req = root.lookupType('protoecho.EchoRequest');
  const Resp = root.lookupType('protoecho.EchoResponse');
  const Control = root.lookupEnum('protoecho.Control').values;

  const sock = net.connect(Number(port), host);
  await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  sock.on('error', (e) => fail('socket: ' + e.message));

  // Incoming bytes are split with decodeDelimited; waiters get responses in order.
  let buf = Buffer.alloc(0);
  const queue = [];
  const waiters = [];
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      let msg;
      const reader = protobuf.Reader.create(buf);
      try {
        msg = Resp.decodeDelimited(reader);
      } catch (e) {
        if (e instanceof RangeError) break; // incomplete: wait for more bytes
        fail('decode: ' + e.message);
      }
      buf = buf.subarray(reader.pos);
      if (waiters.length) waiters.shift()(msg); else queue.push(msg);
    }
  });
  const next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r));
  const send = (obj) => sock.write(Req.encodeDelimited(Req.create(obj)).finish());
  const num = (v) => Number(v || 0);

  // Unary.
  send({ requestId: 7, code: Control.NORMAL, message: 'hello from node' });
  let r = await next();
  if (num(r.requestId) !== 7 || num(r.code) !== Control.NORMAL || r.message !== 'hello from node') {
    fail('unary: got ' + JSON.stringify(r.toJSON()));
  }
  console.log('ok: unary');

  // Streaming: N Normal replies with seq 0..N-1, then End.
  const N = 5;
  send({ requestId: 8, message: 'tick', streamCount: N });
  for (let i = 0; i < N; i++) {
    r = await next();
    if (num(r.requestId) !== 8 || num(r.code) !== Control.NORMAL || num(r.seq) !== i || r.message !== 'tick') {
      fail('stream reply ' + i + ': got ' + JSON.stringify(r.toJSON()));
    }
  }
  r = await next();
  if (num(r.requestId) !== 8 || num(r.code) !== Control.END) fail('stream end: got ' + JSON.stringify(r.toJSON()));
  console.log('ok: stream ' + N);

  // Cancel: a call that would answer in 30 s is canceled; the server aborts it and
  // answers Cancel at once (protosocket-rpc: Cancel after an aborted call, never End).
  send({ requestId: 9, message: 'slow', delayMs: 30000 });
  send({ requestId: 9, code: Control.CANCEL });
  r = await next();
  if (num(r.requestId) !== 9 || num(r.code) !== Control.CANCEL) fail('cancel: got ' + JSON.stringify(r.toJSON()));
  console.log('ok: cancel');

  sock.end();
  console.log('PASS node');
}

main().catch((e) => fail(e.stack || String(e)));
