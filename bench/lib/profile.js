// Summarizes the `node --cpu-prof` profiles of one server (all its runs): the functions with the
// most self time, so a bottleneck in sockserve shows up next to the numbers.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * @param {string} dir  a folder of .cpuprofile files
 * @param {number} top
 */
export function summarizeProfile(dir, top) {
  /** @type {Map<string, number>} */
  const self = new Map();
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    /** @type {{ nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }>, samples: number[], timeDeltas: number[] }} */
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    /** @type {Map<number, string>} */
    const names = new Map();
    for (const { id, callFrame } of profile.nodes) {
      const where = callFrame.url ? `${shorten(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
      names.set(id, `${callFrame.functionName || '(anonymous)'} ${where}`.trim());
    }
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      const name = names.get(id) ?? '?';
      self.set(name, (self.get(name) ?? 0) + delta);
      total += delta;
    });
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`CPU profile of ${path.basename(dir)} (self time, all runs):`];
  for (const [name, micros] of rows)
    lines.push(`  ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  return lines.join('\n');
}

/** @param {string} url */
function shorten(url) {
  const at = url.lastIndexOf('/node_modules/');
  if (at !== -1) return url.slice(at + '/node_modules/'.length);
  const packages = url.indexOf('/packages/');
  if (packages !== -1) return url.slice(packages + 1);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}
