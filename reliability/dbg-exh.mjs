import { spawn } from 'node:child_process';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
const child = spawn('prlimit', ['--nofile=64:64', '--', process.execPath, 'fixtures/stream-server.mjs', '--mode', 'forking', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
let err = ''; child.stderr.on('data', (d) => (err += d));
child.on('exit', (c, s) => console.log('SERVER EXIT', c, s));
const port = await new Promise((r) => child.stdout.on('data', (d) => { const m = /listening (\d+)/.exec(String(d)); if (m) r(Number(m[1])); }));
const kids = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => { try { return readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1].split(' ')[1] == child.pid; } catch { return false; } });
const fds = (p) => { try { return readdirSync(`/proc/${p}/fd`).length; } catch { return -1; } };
const show = (label) => console.log(label, 'parent', fds(child.pid), 'kids', kids().map((k) => `${k}:${fds(k)}`).join(' '));
// warm up
await new Promise((r) => { const s = net.connect(port, '127.0.0.1'); s.on('data', () => { s.destroy(); r(); }); s.write('x\n'); });
show('start');
const holders = [];
for (let i = 0; i < 5; i++) { const s = net.connect(port, '127.0.0.1'); s.on('error', (e) => console.log('holder error', e.code)); await new Promise((r) => { s.once('data', r); s.write('h\n'); }); holders.push(s); }
const flood = []; let echoed = 0, closed = 0;
for (let i = 0; i < 150; i++) { const s = await new Promise((r) => { const s = net.connect(port, '127.0.0.1', () => r(s)); s.on('error', () => {}); }); s.once('data', () => echoed++); s.once('close', () => closed++); s.write('hello\n'); flood.push(s); }
for (let i = 0; i < 4; i++) { await new Promise((r) => setTimeout(r, 500)); show(`flood ${echoed}/${closed}`); }
for (const s of flood) s.destroy();
for (const s of holders) s.end();
for (let i = 0; i < 4; i++) { await new Promise((r) => setTimeout(r, 1000)); show(`after ${i + 1}s`); }
const s = net.connect(port, '127.0.0.1'); s.on('error', (e) => console.log('new client error', e.code)); s.on('data', (d) => console.log('new client got', String(d).trim())); s.write('hi\n');
await new Promise((r) => setTimeout(r, 2000));
s.destroy(); child.kill(); console.log('stderr:', err.slice(0, 3000));
