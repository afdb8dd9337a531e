/** `sockserve-demo start` (what `npm start` runs): echo over TCP and UDP on one port, chat on another. */
import { expect, it } from 'vitest';
import { datagramRoundTrip, LineClient, parseUrl, startServer, streamRoundTrip } from './helpers.js';

it('starts echo (TCP and UDP) and chat with one banner, and stops on SIGTERM', async () => {
  const { cli, urls } = await startServer(['start', '--port', '0', '--chat-port', '0'], 3);
  await using _cli = cli;
  const [tcp, udp, chat] = urls.map(parseUrl);
  expect(cli.stdoutLines).toHaveLength(3);
  expect(tcp).toMatchObject({ transport: 'tcp', host: '127.0.0.1' });
  expect(udp).toMatchObject({ transport: 'udp', host: '127.0.0.1', port: tcp!.port });
  expect(chat).toMatchObject({ transport: 'tcp', host: '127.0.0.1' });
  expect(chat!.port).not.toBe(tcp!.port);

  await cli.until(() => cli.stderr.includes('Ctrl-C to stop'), 'banner');
  expect(cli.stderr).toContain(`try: nc 127.0.0.1 ${tcp!.port}`);
  expect(cli.stderr).toContain(`try: nc -u 127.0.0.1 ${udp!.port}`);
  expect(cli.stderr).toContain(`try: nc 127.0.0.1 ${chat!.port}`);

  expect(await streamRoundTrip(tcp!, 'tcp echo\n')).toBe('tcp echo\n');
  expect(await datagramRoundTrip(udp!, 'udp echo\n')).toBe('udp echo\n');
  using client = await LineClient.connect(chat!);
  expect(await client.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');

  cli.signal('SIGTERM');
  expect(await client.line()).toBe('-- server shutting down');
  expect(await cli.exit()).toEqual({ code: 0, signal: null });
});

it('start --mode forking: echo and chat served by child processes; chat users are told on SIGTERM', async () => {
  const { cli, urls } = await startServer(
    ['start', '--port', '0', '--chat-port', '0', '--mode', 'forking', '--workers', '1'],
    3,
  );
  await using _cli = cli;
  const [tcp, udp, chat] = urls.map(parseUrl);
  await cli.until(() => cli.stderr.includes('forking mode'), 'banner');
  expect(await streamRoundTrip(tcp!, 'tcp echo\n')).toBe('tcp echo\n');
  expect(await datagramRoundTrip(udp!, 'udp echo\n')).toBe('udp echo\n');
  using alice = await LineClient.connect(chat!);
  expect(await alice.line()).toBe('-- welcome, you are guest1 in #lobby (type /help for commands)');
  using bob = await LineClient.connect(chat!);
  expect(await bob.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
  expect(await alice.line()).toBe('-- guest2 joined #lobby');
  bob.send('hello');
  expect(await alice.line()).toBe('<guest2> hello');

  cli.signal('SIGTERM');
  expect(await alice.line()).toBe('-- server shutting down');
  expect(await bob.line()).toBe('-- server shutting down');
  expect(await cli.exit()).toEqual({ code: 0, signal: null });
  expect(cli.stdoutLines).toHaveLength(3);
});
