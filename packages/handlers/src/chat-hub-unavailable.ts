/**
 * `ChatHubUnavailableError`: what a hub method rejects with while the hub's shared store (e.g. Redis)
 * cannot be reached for a moment. `ChatHandler` answers the line that needed the hub with
 * `! chat is temporarily unavailable` (`ChatText.UNAVAILABLE`) and keeps the session open.
 */

/** The `code` of `ChatHubUnavailableError`. */
export const CHAT_HUB_UNAVAILABLE = 'ERR_SOCKSERVE_CHAT_HUB_UNAVAILABLE';

const brand = Symbol.for('sockserve.chat-hub-unavailable');

/** A hub call failed because the hub is unreachable for now (the session may retry later). */
export class ChatHubUnavailableError extends Error {
  /** Always `ERR_SOCKSERVE_CHAT_HUB_UNAVAILABLE`. */
  readonly code: typeof CHAT_HUB_UNAVAILABLE = CHAT_HUB_UNAVAILABLE;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChatHubUnavailableError';
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for a `ChatHubUnavailableError`, even one made by another copy of this package. */
  static isInstance(value: unknown): value is ChatHubUnavailableError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}
