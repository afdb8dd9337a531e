// What is measured: the servers under test and the scenarios that drive them.
import path from 'node:path';
import { BENCH_DIR, SERVERS_DIR } from './paths.js';
import { LOADGEN_CPU } from './runner.js';
import { tlsFiles } from './tls-certs.js';

/** The file the `download` scenario serves (the load generator writes it; the servers send it). */
const DOWNLOAD_FILE = path.join(BENCH_DIR, '.build', 'download.bin');

/**
 * @typedef {object} Tools
 * @property {string} loadgen
 * @property {string} echod
 * @property {string | undefined} python  the real python3 executable, if there is one
 * @property {string | undefined} profileDir  set: Node servers run under `node --cpu-prof` into it
 * @property {string | undefined} redisServer  the redis-server executable on PATH, if there is one
 */

/**
 * @typedef {object} ServerSpec
 * @property {string} label          `{handler}` is replaced by the handler the server announced
 * @property {string} short          the name in ratios
 * @property {(tools: Tools) => string[] | string} command  argv, or a reason it cannot run here
 * @property {boolean} [multiProcess] not pinned to the server CPU (it uses both)
 * @property {boolean} [calibration]  the C echo server: shows what the load generator can do
 */

/**
 * A Node server script (under `node --cpu-prof` when profiling).
 * @param {string} file @param {string[]} [args] @returns {(tools: Tools) => string[]}
 */
const node =
  (file, args = []) =>
  (tools) => {
    const profile =
      tools.profileDir === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${path.join(tools.profileDir, path.basename(file, '.js'))}`];
    return [process.execPath, ...profile, path.join(SERVERS_DIR, file), ...args];
  };
/** @param {string} file @returns {(tools: Tools) => string[] | string} */
const python = (file) => (tools) =>
  tools.python === undefined ? 'python3 not found' : [tools.python, path.join(SERVERS_DIR, file)];

/** The `crossnode` load: 200 clients, 4 senders × 2,000 lines, 500 one-at-a-time latency samples. */
const CROSS_NODE_LOAD = ['--clients', '200', '--senders', '4', '--lines', '2000', '--pings', '500'];
const REDIS_MISSING =
  'redis-server not found on PATH (install Redis, e.g. the Debian package redis-server, to measure RedisHub across nodes)';

/**
 * A Node TLS server script, given the bench's certificate (`--key FILE --cert FILE`).
 * @param {string} file @returns {(tools: Tools) => string[] | string}
 */
const nodeTls = (file) => (tools) => {
  const files = tlsFiles();
  return typeof files === 'string' ? files : node(file, ['--key', files.key, '--cert', files.cert])(tools);
};
/** The TLS scenarios' load generator (the C one has no TLS): a Node script trusting the bench's certificate. */
const tlsLoadgen = () => {
  const files = /** @type {{ cert: string }} */ (tlsFiles());
  return [process.execPath, path.join(BENCH_DIR, 'loadgen', 'tls-loadgen.js'), '--ca', files.cert];
};
/** Why the TLS scenarios cannot run here (no openssl CLI), if they cannot. */
const tlsUnavailable = () => {
  const files = tlsFiles();
  return typeof files === 'string' ? files : undefined;
};

/** @type {Record<string, ServerSpec>} */
export const SERVERS = {
  sockserve: {
    label: 'sockserve ThreadingTCPServer + {handler}',
    short: 'sockserve echo',
    command: node('sockserve-echo.js'),
  },
  'sockserve-rwfile': {
    label: 'sockserve ThreadingTCPServer + user rfile/wfile echo',
    short: 'sockserve rfile/wfile echo',
    command: node('sockserve-rwfile.js'),
  },
  'sockserve-forking': {
    label: 'sockserve ForkingTCPServer (pool of 2) + {handler}',
    short: 'sockserve ForkingTCPServer x2',
    command: node('sockserve-forking.js'),
    multiProcess: true,
  },
  'sockserve-forking-per-request': {
    label: 'sockserve ForkingTCPServer, perRequest (a fresh child per connection) + {handler}',
    short: 'sockserve ForkingTCPServer perRequest',
    command: node('sockserve-forking.js', ['--per-request']),
    multiProcess: true,
  },
  'python-forking': {
    label: 'Python socketserver.ForkingTCPServer (os.fork per connection)',
    short: 'Python ForkingTCPServer',
    command: (tools) => {
      const argv = python('py-echo.py')(tools);
      return typeof argv === 'string' ? argv : [...argv, '--forking'];
    },
    multiProcess: true,
  },
  net: { label: 'raw node:net echo', short: 'node:net', command: node('raw-net.js') },
  'net-await': {
    label: 'raw node:net echo, for await + awaited drain (the rfile/wfile style)',
    short: 'node:net for await',
    command: node('raw-net-await.js'),
  },
  cluster: {
    label: 'node:cluster, 2 workers (raw echo)',
    short: 'node:cluster x2',
    command: node('cluster-net.js'),
    multiProcess: true,
  },
  python: { label: 'Python socketserver.ThreadingTCPServer', short: 'Python', command: python('py-echo.py') },
  'c-echo': {
    label: 'C epoll echo (load generator check)',
    short: 'C echo',
    command: (t) => [t.echod, 'tcp'],
    calibration: true,
  },
  'sockserve-udp': {
    label: 'sockserve ThreadingUDPServer + {handler}',
    short: 'sockserve echo',
    command: node('sockserve-udp.js'),
  },
  'sockserve-udp-dgram': {
    label: 'sockserve ThreadingUDPServer + {handler}',
    short: 'sockserve echo, node:dgram only',
    command: node('sockserve-udp.js', ['--no-batching']),
  },
  'sockserve-udp-rwfile': {
    label: 'sockserve ThreadingUDPServer + user rfile/wfile echo',
    short: 'sockserve rfile/wfile echo',
    command: node('sockserve-udp-rwfile.js'),
  },
  dgram: { label: 'raw node:dgram echo', short: 'node:dgram', command: node('raw-dgram.js') },
  'python-udp': { label: 'Python socketserver.UDPServer', short: 'Python', command: python('py-udp.py') },
  'c-echo-udp': {
    label: 'C epoll echo (load generator check)',
    short: 'C echo',
    command: (t) => [t.echod, 'udp'],
    calibration: true,
  },
  'sockserve-sendfile': {
    label: 'sockserve ThreadingTCPServer + wfile.sendfile() (sendfile(2) with @sockserve/udp-native)',
    short: 'sockserve sendfile',
    command: node('sockserve-sendfile.js'),
  },
  'net-pipe': {
    label: 'raw node:net + fs.createReadStream().pipe(socket)',
    short: 'node:net fs pipe',
    command: node('net-pipe.js'),
  },
  'python-sendfile': {
    label: 'Python socketserver.ThreadingTCPServer + socket.sendfile()',
    short: 'Python sendfile',
    command: (tools) => {
      const argv = python('py-sendfile.py')(tools);
      return typeof argv === 'string' ? argv : [...argv, DOWNLOAD_FILE];
    },
  },
  'sockserve-chat': {
    label: 'sockserve ThreadingTCPServer + ChatHandler',
    short: 'sockserve ChatHandler',
    command: node('sockserve-chat.js'),
  },
  'net-chat': {
    label: 'raw node:net broadcaster (coalescing)',
    short: 'node:net broadcaster',
    command: node('raw-chat.js'),
  },
  'sockserve-tls': {
    label: 'sockserve ThreadingTCPServer + {handler}, `tls` option',
    short: 'sockserve TLS echo',
    command: nodeTls('sockserve-tls.js'),
  },
  'raw-tls': { label: 'raw node:tls echo', short: 'node:tls', command: nodeTls('raw-tls.js') },
  // `crossnode` runs: each is one process with the chat node(s) and the clients (servers/cross-node.js).
  'crossnode-memory': {
    label: 'sockserve ChatHandler, 1 node, MemoryHub',
    short: 'MemoryHub 1 node',
    command: node('cross-node.js', ['--hub', 'memory', ...CROSS_NODE_LOAD]),
  },
  'crossnode-redis': {
    label: 'sockserve ChatHandler, 2 nodes, RedisHub (redis-server on the other CPU)',
    short: 'RedisHub 2 nodes',
    command: (tools) => {
      if (tools.redisServer === undefined) return REDIS_MISSING;
      const argv = node('cross-node.js', ['--hub', 'redis', ...CROSS_NODE_LOAD])(tools);
      return [...argv, '--redis-server', tools.redisServer, '--redis-cpu', LOADGEN_CPU];
    },
  },
};

/**
 * @typedef {object} Target
 * @property {string} server      the sockserve server
 * @property {string} baseline
 * @property {number} [min]       ratio of medians must be at least this
 * @property {number} [max]       ratio of medians must be at most this (lower is better)
 * @property {string} [metric]    compare this metric (a `Metric` key) instead of the scenario's value
 */

/**
 * A figure a `script` run reports besides its value, e.g. a latency percentile.
 * @typedef {object} Metric
 * @property {string} key    its name in the script's `metrics`
 * @property {string} title  e.g. "latency median"
 * @property {string} unit   e.g. "ms"
 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {string} unit
 * @property {boolean} higherIsBetter
 * @property {'load' | 'idle' | 'script'} kind  `script`: each run is the server's command, a Node script
 *   that measures by itself and prints one JSON line (bench/lib/runner.js `runScript`); no loadgen
 * @property {boolean} [freshServer]  a new server for every run, without a warm-up run (the run leaves state behind)
 * @property {(options: { duration: number, warmup: number }) => string[]} [loadgen]  load generator argv (no port; load and idle)
 * @property {(tools: Tools) => string[]} [loadgenCommand]  the load generator to run instead of the C one (its
 *   command before the `loadgen` arguments; same output contract)
 * @property {Metric[]} [metrics]  script: figures reported besides the value (medians of the runs)
 * @property {(tools: Tools) => string | undefined} [unavailable]  why the whole scenario cannot run here, if it cannot
 * @property {string[]} servers
 * @property {Target[]} targets
 */

/** @param {{ duration: number, warmup: number }} o */
const timed = (o) => ['--duration', String(o.duration), '--warmup', String(o.warmup)];

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    id: 'pingpong',
    title: 'Ping-pong: 64 connections, 64-byte messages, each waits for its echo',
    unit: 'msg/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: (o) => ['pingpong', '--conns', '64', '--size', '64', ...timed(o)],
    servers: [
      'net',
      'sockserve',
      'sockserve-rwfile',
      'net-await',
      'python',
      'cluster',
      'sockserve-forking',
      'c-echo',
    ],
    targets: [
      { server: 'sockserve', baseline: 'net', min: 0.95 },
      { server: 'sockserve', baseline: 'python', min: 1.0 },
      { server: 'sockserve-rwfile', baseline: 'net', min: 0.85 },
      // Reported, no target: the same await style in plain Node.js.
      { server: 'sockserve-rwfile', baseline: 'net-await' },
      { server: 'sockserve-forking', baseline: 'cluster', min: 0.9 },
    ],
  },
  {
    id: 'stream',
    title: 'Stream: 4 connections x 256 MiB, echoed while sending',
    unit: 'MiB/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: () => ['stream', '--conns', '4', '--bytes', String(256 * 1024 * 1024), '--timeout', '60'],
    servers: ['net', 'sockserve', 'sockserve-rwfile', 'python', 'c-echo'],
    targets: [
      { server: 'sockserve', baseline: 'net', min: 0.95 },
      { server: 'sockserve', baseline: 'python', min: 1.0 },
      { server: 'sockserve-rwfile', baseline: 'net' },
    ],
  },
  {
    id: 'connrate',
    title: 'Connection rate: connect, 16-byte echo, close; 32 at a time',
    unit: 'conn/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: (o) => ['connrate', '--conns', '32', '--size', '16', ...timed(o)],
    servers: ['net', 'sockserve', 'sockserve-rwfile', 'python', 'c-echo'],
    targets: [
      { server: 'sockserve', baseline: 'net', min: 0.9 },
      { server: 'sockserve-rwfile', baseline: 'net' },
    ],
  },
  {
    id: 'forkrate',
    title: 'Per-request forking: connect, 16-byte echo, close; 8 at a time, a fresh child process each',
    unit: 'conn/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: (o) => ['connrate', '--conns', '8', '--size', '16', ...timed(o)],
    servers: ['python-forking', 'sockserve-forking-per-request'],
    // Reported beside Python, no target: Node cannot fork, so each child is a new Node process.
    targets: [{ server: 'sockserve-forking-per-request', baseline: 'python-forking' }],
  },
  {
    id: 'udp',
    title: 'UDP: 32 datagrams in flight, 64 bytes',
    unit: 'dgram/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: (o) => ['udp', '--conns', '32', '--size', '64', ...timed(o)],
    servers: [
      'dgram',
      'sockserve-udp',
      'sockserve-udp-dgram',
      'sockserve-udp-rwfile',
      'python-udp',
      'c-echo-udp',
    ],
    targets: [
      { server: 'sockserve-udp', baseline: 'dgram', min: 0.95 },
      { server: 'sockserve-udp', baseline: 'python-udp', min: 1.0 },
      // Without @sockserve/udp-native (not Linux, or not installed): reported, no target.
      { server: 'sockserve-udp-dgram', baseline: 'dgram' },
      { server: 'sockserve-udp-dgram', baseline: 'python-udp' },
      { server: 'sockserve-udp-rwfile', baseline: 'dgram' },
    ],
  },
  {
    id: 'chat',
    title:
      'Chat fan-out: 200 clients, 4 senders (64 lines in flight each, sent 32 at a time), lines delivered per second',
    unit: 'lines/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: (o) => [
      'chat',
      '--conns',
      '200',
      '--senders',
      '4',
      '--window',
      '64',
      '--timeout',
      '30',
      ...timed(o),
    ],
    servers: ['net-chat', 'sockserve-chat'],
    targets: [{ server: 'sockserve-chat', baseline: 'net-chat', min: 0.8 }],
  },
  {
    id: 'crossnode',
    title:
      'Cross-node chat fan-out: 200 clients (alternating between the nodes), 4 senders x 2,000 lines, lines delivered per second; one line from node to node',
    unit: 'lines/s',
    higherIsBetter: true,
    kind: 'script',
    metrics: [
      { key: 'latencyMedian', title: 'latency median', unit: 'ms' },
      { key: 'latencyP99', title: 'latency p99', unit: 'ms' },
    ],
    unavailable: (tools) => (tools.redisServer === undefined ? REDIS_MISSING : undefined),
    servers: ['crossnode-memory', 'crossnode-redis'],
    // Reported, no target: what sharing one chat over Redis costs, next to one in-memory node.
    targets: [
      { server: 'crossnode-redis', baseline: 'crossnode-memory' },
      { server: 'crossnode-redis', baseline: 'crossnode-memory', metric: 'latencyMedian' },
      { server: 'crossnode-redis', baseline: 'crossnode-memory', metric: 'latencyP99' },
    ],
  },
  {
    id: 'tls-pingpong',
    title:
      'TLS ping-pong: 64 connections, 64-byte messages, each waits for its echo (Node.js TLS load generator)',
    unit: 'msg/s',
    higherIsBetter: true,
    kind: 'load',
    loadgenCommand: tlsLoadgen,
    loadgen: (o) => ['pingpong', '--conns', '64', '--size', '64', ...timed(o)],
    unavailable: tlsUnavailable,
    servers: ['raw-tls', 'sockserve-tls'],
    targets: [{ server: 'sockserve-tls', baseline: 'raw-tls', min: 0.95 }],
  },
  {
    id: 'tls-stream',
    title: 'TLS stream: 4 connections x 64 MiB, echoed while sending (Node.js TLS load generator)',
    unit: 'MiB/s',
    higherIsBetter: true,
    kind: 'load',
    loadgenCommand: tlsLoadgen,
    loadgen: () => ['stream', '--conns', '4', '--bytes', String(64 * 1024 * 1024), '--timeout', '60'],
    unavailable: tlsUnavailable,
    servers: ['raw-tls', 'sockserve-tls'],
    targets: [{ server: 'sockserve-tls', baseline: 'raw-tls', min: 0.95 }],
  },
  {
    id: 'tls-handshake',
    title:
      'TLS handshakes: connect, full handshake (no resumption), 16-byte echo, close; 16 at a time (Node.js TLS load generator)',
    unit: 'handshakes/s',
    higherIsBetter: true,
    kind: 'load',
    loadgenCommand: tlsLoadgen,
    loadgen: (o) => ['handshake', '--conns', '16', '--size', '16', ...timed(o)],
    unavailable: tlsUnavailable,
    servers: ['raw-tls', 'sockserve-tls'],
    targets: [{ server: 'sockserve-tls', baseline: 'raw-tls', min: 0.9 }],
  },
  {
    id: 'download',
    title: 'File serving: 4 connections each download a 256 MiB file (page cache)',
    unit: 'MiB/s',
    higherIsBetter: true,
    kind: 'load',
    loadgen: () => [
      'download',
      '--conns',
      '4',
      '--bytes',
      String(256 * 1024 * 1024),
      '--file',
      DOWNLOAD_FILE,
      '--timeout',
      '60',
    ],
    servers: ['net-pipe', 'sockserve-sendfile', 'python-sendfile'],
    // Reported, no target yet: the first figures of a new scenario.
    targets: [
      { server: 'sockserve-sendfile', baseline: 'net-pipe' },
      { server: 'sockserve-sendfile', baseline: 'python-sendfile' },
    ],
  },
  {
    id: 'joinstorm',
    title:
      'Join storm: 5,000 chat clients join one room (256 waiting for their welcome at a time), joins per second until the last welcome',
    unit: 'joins/s',
    higherIsBetter: true,
    kind: 'load',
    // Every run leaves 5,000 clients leaving behind: each run gets a server of its own.
    freshServer: true,
    loadgen: () => ['joinstorm', '--conns', '5000', '--window', '256', '--timeout', '180'],
    // sockserve only: the raw broadcaster writes every notice to every client at once, 12.5 million
    // writes for 5,000 joins (1,500 joins already take it about 40 s here).
    servers: ['sockserve-chat'],
    targets: [],
  },
  {
    id: 'idle',
    title: 'Idle memory: 10 000 idle connections, server RSS per connection',
    unit: 'KiB/conn',
    higherIsBetter: false,
    kind: 'idle',
    loadgen: () => ['idle', '--conns', '10000', '--size', '16', '--hold', '30', '--timeout', '60'],
    servers: ['net', 'sockserve', 'sockserve-rwfile'],
    targets: [
      { server: 'sockserve', baseline: 'net', max: 1.5 },
      { server: 'sockserve-rwfile', baseline: 'net' },
    ],
  },
];
