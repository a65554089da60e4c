// What the p2p engine needs from a wire (the ws mesh; nothing for a singleton).
import type { Header } from './frame.js';

/** A link copies payloads up to this size before send() returns (and calls `done` at once). */
export const COPY_MAX = 64 * 1024;

/** One connection. Frames sent on it arrive in order. */
export interface Link {
  /** send a header and, when given, a payload; `done` once the caller may reuse the payload */
  send(header: Header, payload?: Uint8Array, done?: (err?: Error) => void): void;
}

export interface LinkEvents {
  /** a frame from world rank `from` on `link` (replies go back on it) */
  frame(from: number, link: Link, h: Header, payload: Buffer | undefined): void;
  /** a connection to or from `peer` ended or could not be made */
  lost(peer: number, why: string): void;
}

export interface Links {
  /** the ordered channel for this rank's messages to `peer` (opened at init or on first use) */
  to(peer: number): Link;
  /** whether a connection from `peer` is open now */
  hasInbound(peer: number): boolean;
  close(): Promise<void>;
}
