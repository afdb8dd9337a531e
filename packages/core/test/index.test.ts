/** The package's public API: what src/index.ts exports, and what it must not. */
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';

describe('public API', () => {
  it('keeps option validators and error factories internal', () => {
    // Exported once only because @sockserve/handlers used them; an export becomes API by accident.
    for (const name of [
      'optional',
      'validateBoolean',
      'validateInteger',
      'validatePort',
      'validateSeconds',
      'validateString',
      'invalidType',
      'invalidValue',
    ]) {
      expect(Object.keys(core)).not.toContain(name);
    }
  });

  it('exports the servers, handler classes and errors', () => {
    for (const name of ['TCPServer', 'UDPServer', 'StreamRequestHandler', 'SockserveError', 'ErrorCodes']) {
      expect(Object.keys(core)).toContain(name);
    }
  });
});
