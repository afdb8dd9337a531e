/**
 * `sockserve-demo`: parses the command line, runs the command, and turns every expected failure
 * into one line and an exit status (2 bad usage, 1 runtime failure) — no stack trace.
 */
import { ErrorCodes, SockserveError } from '@sockserve/core';
import packageJson from '../package.json' with { type: 'json' };
import {
  type ChatSettings,
  type Command,
  PROGRAM,
  parseCommandLine,
  type ServerSettings,
  USAGE_LINE,
  UsageError,
} from './cli.js';
import { ConnectError, runClient } from './connect.js';
import { commandHelp, HELP } from './help.js';
import { createLogger } from './logger.js';
import { createOutput, type Output } from './output.js';
import { type DemoServerFactory, serve } from './serve.js';
import { createChatServer, createEchoServer, type DemoServer, ncCommand } from './servers.js';
import { logProcessWarnings } from './warnings.js';

export const VERSION: string = packageJson.version;

/** Runs the CLI with `argv` (without `node` and the script); resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${PROGRAM}: ${error.message}\n${USAGE_LINE}\n`);
    return 2;
  }
  if (command.name === 'help') {
    process.stdout.write(`${command.topic === undefined ? HELP : commandHelp(command.topic)}\n`);
    return 0;
  }
  if (command.name === 'version') {
    process.stdout.write(`${PROGRAM} ${VERSION}\n`);
    return 0;
  }

  const log = createLogger(command.log);
  logProcessWarnings(log);
  const output = createOutput(command.log, log);
  try {
    return await run(command, output);
  } catch (error) {
    return fail(error, output);
  }
}

async function run(command: Exclude<Command, { name: 'help' | 'version' }>, output: Output): Promise<number> {
  switch (command.name) {
    case 'connect':
      return runClient(command.connect, output);
    case 'echo': {
      const echo = createEchoServer(command.server);
      return serve([() => echo], output, { announce: () => output.notice(`try: ${ncCommand(echo)}`) });
    }
    case 'chat': {
      const chat = createChatServer(command.server, command.chat);
      return serve([() => chat], output, { announce: () => output.notice(`try: ${ncCommand(chat)}`) });
    }
    case 'start':
      return serve(startServers(command.server, command.chatPort, command.chat), output, {
        announce: (servers) => output.notice(banner(servers, command.server)),
      });
  }
}

/**
 * `start`: echo over TCP and UDP on one port, chat on another. The UDP echo is made once the TCP
 * echo is bound, so that `--port 0` gives both the same free port.
 */
function startServers(
  settings: ServerSettings,
  chatPort: number,
  chatSettings: ChatSettings,
): DemoServerFactory[] {
  // Made first: an option the chat cannot honour fails before anything is bound.
  const chat = createChatServer({ ...settings, port: chatPort }, chatSettings, 'chat');
  const udp = { ...settings, transport: 'udp', timeout: undefined, maxConnections: undefined } as const;
  return [
    () => createEchoServer({ ...settings, transport: 'tcp' }, 'echo-tcp'),
    ([tcp]) =>
      createEchoServer({ ...udp, port: (tcp!.server.serverAddress as { port: number }).port }, 'echo-udp'),
    () => chat,
  ];
}

function banner(servers: readonly DemoServer[], settings: ServerSettings): string {
  const rows: string[] = [];
  for (const demo of servers) {
    const name = demo.kind === 'chat' ? 'chat' : `echo (${demo.transport.toUpperCase()})`;
    const what =
      demo.kind === 'chat'
        ? 'talk from two terminals; /help lists the commands'
        : demo.transport === 'udp'
          ? 'each line is a datagram, sent back'
          : 'type a line, it comes back';
    rows.push([`  ${name.padEnd(11)}`, `try: ${ncCommand(demo)}`.padEnd(30), what].join(' '));
  }
  return [``, `  sockserve demo, ${settings.mode} mode. Ctrl-C to stop.`, ...rows, ``].join('\n');
}

/** One line for an expected failure (no stack); the stack for a bug. */
function fail(error: unknown, output: Output): number {
  if (error instanceof UsageError) {
    output.failure(error.message, true);
    return 2;
  }
  if (error instanceof ConnectError) {
    output.failure(error.message);
    return 1;
  }
  if (SockserveError.isInstance(error)) {
    if (
      error.code === ErrorCodes.ADDRESS_IN_USE ||
      error.code === ErrorCodes.BIND_FAILED ||
      // A TLS file that cannot be read, or that node:tls refuses (the message names it and why).
      error.code === ErrorCodes.INVALID_ARG_VALUE
    ) {
      output.failure(error.message);
      return 1;
    }
  }
  output.log.fatal({ err: error }, 'unexpected error');
  return 1;
}
