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
  /** Close code from the relay: 1012 restart, 1013 try again later, 4001 token expired, 4008 slow consumer, 4029 rate limited, … */
  code?: number;
  /** With "closed": the relay's close code says a reconnect cannot help (1008, 1009, or 4001 without refreshToken); the client stopped. */
  final?: boolean;
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
  /** Ask for presence (who is online) of the topics that have it on the relay (default false).
   * `client.presence(topic)` turns it on by itself. */
  presence?: boolean;
}

/** A member of a topic's presence: the token's subject and its name claim. */
export interface PresenceMember {
  sub: string;
  name?: string;
}

/** Who is online in one topic, kept up to date by the client. */
export class Presence {
  readonly topic: string;
  /** sub -> member. Empty while countOnly. */
  readonly members: Map<string, PresenceMember>;
  readonly count: number;
  /** The room is above the relay's member limit: only the count is known (no list, no join/leave). */
  readonly countOnly: boolean;
  /** A first snapshot arrived. */
  readonly ready: boolean;
  on(type: "join" | "leave", fn: (m: PresenceMember) => void): () => void;
  on(type: "change", fn: (p: Presence) => void): () => void;
  /** The members ordered by subject. */
  list(): PresenceMember[];
}

export interface PresencePage {
  topic: string;
  count: number;
  count_only: boolean;
  members: PresenceMember[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
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
  /** Who is online in one of the client's topics (turns the presence option on, reconnecting if needed). */
  presence(topic: string): Presence;
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
export function presence(topic: string, opts?: RequestOptions & { after?: string; limit?: number }): Promise<PresencePage>;
