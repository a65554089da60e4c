// Coordinator wire protocol (JSON lines over TCP), shared by the server in the launcher
// and the client in each rank.
//
//   server -> client  {t:'hello', nonce}                        on connect
//   client -> server  {t:'register', rank, nonce, proof, info}  proof = HMAC(secret, 'coord-client', server nonce)
//   server -> client  {t:'welcome', proof}                      proof = HMAC(secret, 'coord-server', client nonce)
//   server -> client  {t:'table', peers}                        once all ranks registered
//   client -> server  {t:'abort', code, message}
//   server -> client  {t:'exit', rank, code, signal} | {t:'abort', code, reason} | {t:'init-failed', rank, code, reason}
//   client -> server  {t:'ping', id}  ->  server -> client {t:'pong', id, now}   the launcher's epoch ms (clock alignment)
//   client -> server  {t:'trace', rank, names, comms, calls}                    recorded calls (base64 Float64Array, comm/trace-format.ts)
//   client -> server  {t:'live', rank, host, calls, pending, sentMsgs, ...}     --live, every 250 ms
//   client -> server  {t:'trace-end', rank, host, origin, clock, totals}         at finalize (or exit)

export const ROLE_CLIENT = 'coord-client';
export const ROLE_SERVER = 'coord-server';

/** Longest line accepted before a peer has proved it holds the secret. */
export const MAX_UNAUTH_LINE = 64 * 1024;
/** Longest line accepted afterwards (the table). */
export const MAX_LINE = 64 * 1024 * 1024;

/** Format host:port, bracketing IPv6 addresses. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parse host:port or [v6]:port; undefined when malformed. */
export function parseHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}
