/**
 * `--help`: the overview (`sockserve-demo --help`), and each command's own help
 * (`sockserve-demo echo --help`), listing only the options that command accepts.
 */
import { ALLOWED, CHAT_PORT, type CommandName, ECHO_PORT, type OptionName, PROGRAM } from './cli.js';

const COLUMN = 34;

/** One option's lines: its synopsis and what it does (a few depend on the command). */
function optionHelp(option: OptionName, command: CommandName): string[] {
  const server = command !== 'connect';
  switch (option) {
    case 'transport':
      return command === 'connect'
        ? ['--transport tcp|udp|unix', 'default tcp']
        : ['--transport tcp|udp|unix', command === 'echo' ? 'default tcp' : 'default tcp (tcp or unix)'];
    case 'host':
      return ['--host HOST', server ? 'default 127.0.0.1' : 'the server, default 127.0.0.1'];
    case 'port':
      if (command === 'start')
        return ['--port PORT', `the echo port (TCP and UDP), default ${ECHO_PORT}; 0 picks a free port`];
      if (command === 'connect') return ['--port PORT', `the server's port, default ${ECHO_PORT}`];
      return ['--port PORT', `default ${command === 'chat' ? CHAT_PORT : ECHO_PORT}; 0 picks a free port`];
    case 'chat-port':
      return ['--chat-port PORT', `the chat port, default ${CHAT_PORT}; 0 picks a free port`];
    case 'path':
      return [
        '--path PATH',
        command === 'connect'
          ? 'the Unix socket to connect to'
          : 'Unix socket path (implies --transport unix)',
      ];
    case 'mode':
      return ['--mode sync|threading|forking', 'default threading'];
    case 'workers':
      return ['--workers N', 'forking: pool size (default: one per CPU)'];
    case 'per-request':
      return ['--per-request', 'forking: a fresh child process per connection'];
    case 'timeout':
      return command === 'connect'
        ? [
            '--timeout SECONDS',
            'after stdin ends, stop when the server is silent this long',
            '(udp: default 1; tcp/unix: wait until the server closes)',
          ]
        : ['--timeout SECONDS', 'idle timeout per connection'];
    case 'max-connections':
      return ['--max-connections N', 'connections open at once; more are refused'];
    case 'max-line-bytes':
      return ['--max-line-bytes N', 'chat: longest line accepted, default 4096'];
    case 'max-pending-bytes':
      return [
        '--max-pending-bytes N',
        'chat: unsent output per client before it is dropped, default 1048576',
      ];
    case 'hub':
      return [
        '--hub memory|redis',
        'chat: where nicknames and rooms live, default memory',
        '(forking: in the parent, shared by every child)',
      ];
    case 'redis-url':
      return ['--redis-url URL', 'chat: with --hub redis'];
    case 'tls-cert':
      return command === 'connect'
        ? ['--tls-cert PATH', 'with --tls: a client certificate (PEM), for --tls-client-auth servers']
        : ['--tls-cert PATH', 'serve TLS with this certificate (PEM); reloaded on SIGHUP'];
    case 'tls-key':
      return ['--tls-key PATH', "the certificate's private key (PEM)"];
    case 'tls-ca':
      return command === 'connect'
        ? ['--tls-ca PATH', "check the server's certificate against this CA (PEM)"]
        : ['--tls-ca PATH', 'with --tls-client-auth: the CA that signs client certificates'];
    case 'tls-client-auth':
      return ['--tls-client-auth', 'ask for a client certificate; refuse clients without a valid one'];
    case 'tls':
      return ['--tls', "connect over TLS (checks the server's certificate)"];
    case 'insecure':
      return ['--insecure', "with --tls: do not check the server's certificate"];
    case 'log-format':
      return ['--log-format pretty|json', 'default pretty; json: one JSON object per line'];
    case 'log-level':
      return ['--log-level debug|info|warn|error', 'default info; debug adds one line per connection'];
    case 'quiet':
      return ['-q, --quiet', 'nothing on stderr but errors'];
    case 'help':
      return ['-h, --help', 'this help'];
    case 'version':
      return ['-V, --version', 'the version'];
  }
}

function formatOption([synopsis, ...what]: string[]): string[] {
  const [first = '', ...more] = what;
  const head =
    synopsis!.length + 2 < COLUMN
      ? [`  ${synopsis!.padEnd(COLUMN - 2)}${first}`]
      : [`  ${synopsis}`, `${' '.repeat(COLUMN)}${first}`];
  return [...head, ...more.map((line) => `${' '.repeat(COLUMN)}${line}`)];
}

const SERVER_FOOTER = `A server prints one line "listening on tcp://HOST:PORT" (tls://, udp://, unix://PATH) on stdout when it is
ready; everything else goes to stderr. Ctrl-C or SIGTERM stops it gracefully (open connections get
5 s to finish, chat users are told); a second Ctrl-C stops it at once.
Exit status: 0 stopped or done, 1 failure (address in use, cannot bind), 2 bad usage, 130 a second Ctrl-C.`;

const COMMANDS: Record<CommandName, { usage: string[]; what: string; footer: string }> = {
  start: {
    usage: [`${PROGRAM} start [options]`],
    what: `echo on ${ECHO_PORT} (TCP and UDP) and chat on ${CHAT_PORT}, in one process (what \`npm start\` runs)`,
    footer: SERVER_FOOTER,
  },
  echo: {
    usage: [`${PROGRAM} echo [options]`],
    what: 'echo server (RFC 862): every byte comes back (TCP, UDP or a Unix socket)',
    footer: SERVER_FOOTER,
  },
  chat: {
    usage: [`${PROGRAM} chat [options]`],
    what: 'line chat server: talk to it with nc, type /help',
    footer: SERVER_FOOTER,
  },
  connect: {
    usage: [`${PROGRAM} connect [HOST] [PORT] [options]`, `${PROGRAM} connect --transport unix PATH`],
    what: 'line client: sends stdin line by line, prints what comes back',
    footer: 'Exit status: 0 done, 1 cannot connect or the connection failed, 2 bad usage.',
  },
};

/** `sockserve-demo <command> --help`: the command, its options (only those it accepts), its exit statuses. */
export function commandHelp(command: CommandName): string {
  const { usage, what, footer } = COMMANDS[command];
  const options = (Object.keys(OPTION_ORDER) as OptionName[]).filter((option) =>
    ALLOWED[command].has(option),
  );
  return [
    `${PROGRAM} ${command}: ${what}`,
    '',
    'usage:',
    ...usage.map((line) => `  ${line}`),
    '',
    'options:',
    ...options.flatMap((option) => formatOption(optionHelp(option, command))),
    '',
    footer,
  ].join('\n');
}

/** The order options are listed in (server, chat, output). */
const OPTION_ORDER: Record<OptionName, true> = {
  transport: true,
  host: true,
  port: true,
  'chat-port': true,
  path: true,
  mode: true,
  workers: true,
  'per-request': true,
  timeout: true,
  'max-connections': true,
  'max-line-bytes': true,
  'max-pending-bytes': true,
  hub: true,
  'redis-url': true,
  tls: true,
  'tls-cert': true,
  'tls-key': true,
  'tls-ca': true,
  'tls-client-auth': true,
  insecure: true,
  'log-format': true,
  'log-level': true,
  quiet: true,
  help: true,
  version: true,
};

/** `sockserve-demo --help`: the commands, and where each one's options are. */
export const HELP: string = `${PROGRAM}: the sockserve example servers (Python's socketserver for Node.js) and a line client

usage:
  ${PROGRAM} start   [options]      echo on ${ECHO_PORT} (TCP and UDP) and chat on ${CHAT_PORT}, in one process
  ${PROGRAM} echo    [options]      echo server (RFC 862): every byte comes back
  ${PROGRAM} chat    [options]      line chat server: talk to it with nc, type /help
  ${PROGRAM} connect [HOST] [PORT]  line client: sends stdin line by line, prints what comes back

  ${PROGRAM} <command> --help       that command's options

common options:
${[...formatOption(optionHelp('log-format', 'echo')), ...formatOption(optionHelp('log-level', 'echo')), ...formatOption(optionHelp('quiet', 'echo')), ...formatOption(['-h, --help', 'this help']), ...formatOption(optionHelp('version', 'echo'))].join('\n')}

${SERVER_FOOTER}`;
