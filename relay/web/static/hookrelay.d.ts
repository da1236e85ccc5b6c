// Type declarations for hookrelay.js (the browser client). See docs/client.md.

/** An event exactly as the relay delivers it. Never parse `id`: hand it back as a cursor. */
export interface HookrelayEvent<D = unknown> {
  id: string;
  topic: string;
  type: string;
  time: string;
  source?: string;
  data?: D;
}

export type State = "idle" | "connecting" | "open" | "reconnecting" | "offline" | "closed";

export interface StateDetail {
  attempt?: number;
  reason?: string;
  /** Close code from the relay: 1012 restart, 4001 token expired, 4008 slow consumer, … */
  code?: number;
  /** ms until the next attempt. */
  wait?: number;
  /** With the "truncated" notification: the topic whose older events are gone. */
  topic?: string;
  error?: string;
}

export interface Options {
  /** Relay base URL, e.g. "https://push.example.com"; "" (default) means same origin. */
  url?: string;
  topics: string[];
  /** "sse" (default) or "ws" (needed for publish). */
  transport?: "sse" | "ws";
  /** Subscriber token (JWT). Omit for a dev relay without a token key. */
  token?: string | null;
  /** Returns a fresh token; called `refreshBefore` ms before `exp`, before (re)connecting with a token that
   * expires within `refreshBefore` (e.g. after the laptop slept), and when the relay closes with 4001. */
  refreshToken?: (() => Promise<string>) | null;
  /** ms before `exp` to refresh (default 30000). */
  refreshBefore?: number;
  /** Start after these event ids, e.g. the last id of a history page, so history and live join without a gap. */
  positions?: Record<string, string> | null;
  /** Keep the resume position in sessionStorage across reloads (default false). */
  persist?: boolean;
  storageKey?: string | null;
  minBackoff?: number;
  maxBackoff?: number;
  healthyAfter?: number;
  connectTimeout?: number;
}

export interface PublishAck {
  op: "published";
  ref: string;
  events: { id: string; topic: string; duplicate: boolean }[];
}

export class Client {
  constructor(options: Options);
  readonly state: State;
  /** The opaque SSE resume cursor. */
  readonly cursor: string;
  /** Handler for one event type, or "*" for every event. Returns an unsubscribe function. */
  on<D = unknown>(type: string, fn: (ev: HookrelayEvent<D>) => void): () => void;
  /** Connection state changes, plus "truncated" (older events are gone) and "error" notifications. */
  onState(fn: (state: State | "truncated" | "error", detail: StateDetail) => void): () => void;
  publish(topic: string, type: string, data?: unknown, idempotencyKey?: string): Promise<PublishAck>;
  start(): this;
  close(): void;
}

export function connect(options: Options): Client;
export function tokenExpiry(token: string): number;

export interface UnreadCount { count: number; capped: boolean; read_id: string; last_id: string }
export interface RequestOptions { url?: string; token?: string | null }

export function unread(topic: string, opts?: RequestOptions): Promise<UnreadCount>;
export function markRead(topic: string, id: string, opts?: RequestOptions): Promise<void>;
export function history(topic: string, opts?: RequestOptions & { after?: string; limit?: number }): Promise<{ events: HookrelayEvent[]; truncated: boolean }>;
