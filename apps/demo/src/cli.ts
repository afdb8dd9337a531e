/**
 * The command line: `sockserve-demo <start|echo|chat|connect> [options]`, parsed with `node:util`
 * `parseArgs` and checked once, here, into a `Command`. Every mistake is a `UsageError` (exit 2).
 */
import { parseArgs } from 'node:util';

export const PROGRAM: string = 'sockserve-demo';

export type Transport = 'tcp' | 'udp' | 'unix';
export type Mode = 'sync' | 'threading' | 'forking';
export type LogFormat = 'pretty' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const ECHO_PORT: number = 9999;
export const CHAT_PORT: number = 9998;

/** How a server listens and runs its requests. */
export interface ServerSettings {
  transport: Transport;
  /** TCP/UDP: the host to bind. */
  host: string;
  /** TCP/UDP: the port to bind (0 picks a free one). */
  port: number;
  /** Unix: the socket path. */
  path: string | undefined;
  mode: Mode;
  /** Forking pool size; undefined: the core's default (available parallelism). */
  workers: number | undefined;
  /** Forking: a fresh child process per connection. */
  perRequest: boolean;
  /** Idle timeout of a connection, in seconds. */
  timeout: number | undefined;
  /** Connections open at once (stream servers). */
  maxConnections: number | undefined;
  /** TLS (tcp/unix): the certificate files; undefined serves plain connections. */
  tls: TLSFiles | undefined;
}

/** `--tls-cert`, `--tls-key`, `--tls-ca`, `--tls-client-auth`: read (again on SIGHUP) by the server. */
export interface TLSFiles {
  cert: string;
  key: string;
  /** CA certificates that sign client certificates (with `clientAuth`). */
  ca: string | undefined;
  /** Ask for a client certificate, and refuse clients without one signed by `ca`. */
  clientAuth: boolean;
}

/** The chat's own options. */
export interface ChatSettings {
  maxLineBytes: number | undefined;
  maxPendingBytes: number | undefined;
  hub: 'memory' | 'redis';
  redisUrl: string | undefined;
}

export interface LogSettings {
  format: LogFormat;
  level: LogLevel;
  quiet: boolean;
}

export interface ConnectSettings {
  transport: Transport;
  host: string;
  port: number;
  path: string | undefined;
  /** Seconds of silence from the server, after stdin ended, before giving up. */
  timeout: number | undefined;
  /** `--tls`: connect over TLS, checking the server's certificate against `ca` (or the system's CAs) unless `insecure`. */
  tls:
    | { ca: string | undefined; insecure: boolean; cert: string | undefined; key: string | undefined }
    | undefined;
}

/** The commands: what `sockserve-demo <command>` runs. */
export type CommandName = 'start' | 'echo' | 'chat' | 'connect';

export type Command =
  | {
      name: 'help' /** `<command> --help`: that command's help; undefined: the overview. */;
      topic: CommandName | undefined;
    }
  | { name: 'version' }
  | { name: 'echo'; server: ServerSettings; log: LogSettings }
  | { name: 'chat'; server: ServerSettings; chat: ChatSettings; log: LogSettings }
  | { name: 'start'; server: ServerSettings; chatPort: number; chat: ChatSettings; log: LogSettings }
  | { name: 'connect'; connect: ConnectSettings; log: LogSettings };

/** A mistake in the command line: reported in one line with the usage hint, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE_LINE: string = `usage: ${PROGRAM} <start|echo|chat|connect> [options]  (${PROGRAM} --help for more)`;

export const OPTIONS = {
  transport: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'chat-port': { type: 'string' },
  path: { type: 'string' },
  mode: { type: 'string' },
  workers: { type: 'string' },
  'per-request': { type: 'boolean' },
  timeout: { type: 'string' },
  'max-connections': { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'max-pending-bytes': { type: 'string' },
  hub: { type: 'string' },
  'redis-url': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-client-auth': { type: 'boolean' },
  tls: { type: 'boolean' },
  insecure: { type: 'boolean' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export type OptionName = keyof typeof OPTIONS;
type Values = { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

const OUTPUT: readonly OptionName[] = ['log-format', 'log-level', 'quiet', 'help', 'version'];
const SERVER: readonly OptionName[] = [
  'transport',
  'host',
  'port',
  'path',
  'mode',
  'workers',
  'per-request',
  'timeout',
  'max-connections',
];
const CHAT: readonly OptionName[] = ['max-line-bytes', 'max-pending-bytes', 'hub', 'redis-url'];
const TLS: readonly OptionName[] = ['tls-cert', 'tls-key', 'tls-ca', 'tls-client-auth'];

/** The options each command accepts. */
export const ALLOWED: Record<CommandName, ReadonlySet<OptionName>> = {
  echo: new Set([...OUTPUT, ...SERVER, ...TLS]),
  chat: new Set([...OUTPUT, ...SERVER, ...CHAT, ...TLS]),
  start: new Set([
    ...OUTPUT,
    ...SERVER.filter((name) => name !== 'transport' && name !== 'path'),
    'chat-port',
    ...CHAT,
  ]),
  connect: new Set([
    ...OUTPUT,
    'transport',
    'host',
    'port',
    'path',
    'timeout',
    'tls',
    'tls-ca',
    'insecure',
    'tls-cert',
    'tls-key',
  ]),
};

/** Parses `argv` (without `node` and the script). Throws `UsageError`. */
export function parseCommandLine(argv: readonly string[]): Command {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: joinNegativeValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const [name, ...operands] = positionals;
  const known = name === 'start' || name === 'echo' || name === 'chat' || name === 'connect';
  if (values.help) return { name: 'help', topic: known ? name : undefined };
  if (values.version) return { name: 'version' };

  if (name === undefined) throw new UsageError('missing command');
  if (!known) throw new UsageError(`unknown command '${name}'`);
  for (const option of Object.keys(values) as OptionName[]) {
    if (!ALLOWED[name].has(option)) throw new UsageError(`option --${option} does not apply to '${name}'`);
  }
  const log = logSettings(values);
  if (name === 'connect') return { name, connect: connectSettings(values, operands), log };
  if (operands.length > 0) throw new UsageError(`unexpected argument '${operands[0]}'`);

  const server = serverSettings(values, name === 'chat' ? CHAT_PORT : ECHO_PORT);
  if (name === 'echo') return { name, server, log };
  if (server.transport === 'udp')
    throw new UsageError('the chat needs a stream transport (tcp or unix), not udp');
  const chat = chatSettings(values);
  if (name === 'chat') return { name, server, chat, log };
  return { name, server, chatPort: port(values['chat-port'], CHAT_PORT, '--chat-port'), chat, log };
}

function logSettings(values: Values): LogSettings {
  return {
    format: oneOf(values['log-format'], ['pretty', 'json'], 'pretty', '--log-format'),
    level: oneOf(values['log-level'], ['debug', 'info', 'warn', 'error'], 'info', '--log-level'),
    quiet: values.quiet ?? false,
  };
}

function serverSettings(values: Values, defaultPort: number): ServerSettings {
  const transport = transportOf(values);
  const mode = oneOf(values.mode, ['sync', 'threading', 'forking'], 'threading', '--mode');
  if (mode !== 'forking') {
    if (values.workers !== undefined) throw new UsageError('--workers needs --mode forking');
    if (values['per-request']) throw new UsageError('--per-request needs --mode forking');
  }
  if (values['per-request'] && values.workers !== undefined) {
    throw new UsageError('--workers sizes the pool; it does not apply with --per-request');
  }
  if (transport === 'udp') {
    if (values['max-connections'] !== undefined)
      throw new UsageError('--max-connections does not apply to udp');
    if (values.timeout !== undefined) throw new UsageError('--timeout does not apply to udp');
  }
  return {
    transport,
    ...endpoint(values, transport, defaultPort),
    mode,
    workers: integer(values.workers, 1, '--workers'),
    perRequest: values['per-request'] ?? false,
    timeout: seconds(values.timeout, '--timeout'),
    maxConnections: integer(values['max-connections'], 1, '--max-connections'),
    tls: tlsFiles(values, transport),
  };
}

/** The server's TLS options: --tls-cert and --tls-key together, --tls-ca and --tls-client-auth with them. */
function tlsFiles(values: Values, transport: Transport): TLSFiles | undefined {
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  const ca = values['tls-ca'];
  const clientAuth = values['tls-client-auth'] ?? false;
  if (cert === undefined && key === undefined) {
    if (ca !== undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
    if (clientAuth) throw new UsageError('--tls-client-auth needs --tls-cert and --tls-key');
    return undefined;
  }
  if (cert === undefined || cert === '') throw new UsageError('--tls-key needs --tls-cert PATH');
  if (key === undefined || key === '') throw new UsageError('--tls-cert needs --tls-key PATH');
  if (transport === 'udp') throw new UsageError('TLS needs a stream transport (tcp or unix), not udp');
  if (clientAuth && ca === undefined)
    throw new UsageError('--tls-client-auth needs --tls-ca PATH (the CA that signs client certificates)');
  return { cert, key, ca, clientAuth };
}

function chatSettings(values: Values): ChatSettings {
  const hub = oneOf(values.hub, ['memory', 'redis'], 'memory', '--hub');
  if (values['redis-url'] !== undefined && hub !== 'redis')
    throw new UsageError('--redis-url needs --hub redis');
  return {
    maxLineBytes: integer(values['max-line-bytes'], 1, '--max-line-bytes'),
    maxPendingBytes: integer(values['max-pending-bytes'], 1, '--max-pending-bytes'),
    hub,
    redisUrl: values['redis-url'],
  };
}

function connectSettings(values: Values, operands: string[]): ConnectSettings {
  const transport = transportOf(values);
  const given = { ...values };
  if (transport === 'unix') {
    if (operands.length > 1) throw new UsageError(`unexpected argument '${operands[1]}'`);
    if (operands[0] !== undefined) {
      if (given.path !== undefined) throw new UsageError('give the socket path once (PATH or --path)');
      given.path = operands[0];
    }
  } else {
    if (operands.length > 2) throw new UsageError(`unexpected argument '${operands[2]}'`);
    // connect HOST PORT, connect PORT, or connect HOST
    const [first, second] = operands;
    const host = second !== undefined || (first !== undefined && !/^\d+$/.test(first)) ? first : undefined;
    const portText = second ?? (host === undefined ? first : undefined);
    if (
      (host !== undefined && given.host !== undefined) ||
      (portText !== undefined && given.port !== undefined)
    ) {
      throw new UsageError('give the host and port once (as arguments or as --host/--port)');
    }
    if (host !== undefined) given.host = host;
    if (portText !== undefined) {
      // Checked here, so that the message names the argument the user gave, not --port.
      port(portText, ECHO_PORT, `the PORT argument of 'connect'`);
      given.port = portText;
    }
  }
  const tls = values.tls ?? false;
  if (!tls && values['tls-ca'] !== undefined) throw new UsageError('--tls-ca needs --tls');
  if (!tls && values.insecure) throw new UsageError('--insecure needs --tls');
  if (values.insecure && values['tls-ca'] !== undefined) {
    throw new UsageError('--insecure skips the certificate check: give it or --tls-ca, not both');
  }
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if (!tls && (cert !== undefined || key !== undefined))
    throw new UsageError('--tls-cert and --tls-key need --tls');
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError('a client certificate needs both --tls-cert PATH and --tls-key PATH');
  }
  if (tls && transport === 'udp')
    throw new UsageError('--tls needs a stream transport (tcp or unix), not udp');
  return {
    transport,
    ...endpoint(given, transport, ECHO_PORT),
    timeout: seconds(values.timeout, '--timeout'),
    tls: tls ? { ca: values['tls-ca'], insecure: values.insecure ?? false, cert, key } : undefined,
  };
}

/** `--transport`, or unix when only `--path` is given. */
function transportOf(values: Values): Transport {
  if (values.transport === undefined && values.path !== undefined) return 'unix';
  return oneOf(values.transport, ['tcp', 'udp', 'unix'], 'tcp', '--transport');
}

function endpoint(
  values: Values,
  transport: Transport,
  defaultPort: number,
): { host: string; port: number; path: string | undefined } {
  if (transport === 'unix') {
    if (values.path === undefined || values.path === '')
      throw new UsageError('--transport unix needs --path PATH');
    if (values.host !== undefined || values.port !== undefined) {
      throw new UsageError('--host and --port do not apply to --transport unix');
    }
    return { host: '127.0.0.1', port: 0, path: values.path };
  }
  if (values.path !== undefined) throw new UsageError(`--path needs --transport unix (not ${transport})`);
  return {
    host: values.host ?? '127.0.0.1',
    port: port(values.port, defaultPort, '--port'),
    path: undefined,
  };
}

function oneOf<T extends string>(
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
  option: string,
): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `${option} must be ${choices.join(', ').replace(/, ([^,]*)$/, ' or $1')}, not '${value}'`,
  );
}

function port(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  const parsed = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed <= 65535))
    throw new UsageError(`${option} must be a port number from 0 to 65535, not '${value}'`);
  return parsed;
}

function integer(value: string | undefined, min: number, option: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed >= min))
    throw new UsageError(`${option} must be a whole number of at least ${min}, not '${value}'`);
  return parsed;
}

function seconds(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed > 0) || !Number.isFinite(parsed)) {
    throw new UsageError(`${option} must be a number of seconds above 0, not '${value}'`);
  }
  return parsed;
}

/** The options that take a value (`--port N`), as `--name` and `-x`. */
const VALUED: ReadonlySet<string> = new Set(
  Object.entries(OPTIONS).flatMap(([name, option]) =>
    option.type === 'string' ? [`--${name}`, ...('short' in option ? [`-${option.short}`] : [])] : [],
  ),
);

/**
 * `--port -1` as `--port=-1`: parseArgs takes a value starting with a dash for an option of its own
 * and says "needs a value"; joined, the value reaches the check that says what is wrong with it.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (VALUED.has(arg) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** `parseArgs`' messages, made short: `unknown option '--foo'`, `option '--port' needs a value`. */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  const option = /'([^']+)'/.exec(text)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) return `unknown option '${option}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    const name = option.replace(/ <value>$/, '');
    return /does not take an argument/.test(text)
      ? `option '${name}' does not take a value`
      : `option '${name}' needs a value`;
  }
  const first = text.split('\n')[0] ?? text;
  return first.charAt(0).toLowerCase() + first.slice(1).replace(/\.$/, '');
}
