/** Keeps the kiosk's tokens out of its address bar: `?sync_token=` (or `otlp_token=`) given once is kept in this origin's localStorage, bound to its URL, and the address replaced without it; later loads read it from there. */

/** Token parameters and the URL parameter each is bound to. */
const KEPT = [
  ['sync_token', 'sync_url'],
  ['otlp_token', 'otlp_url'],
] as const;
const key = (param: string) => `inference-kiosk:${param}`;

/**
 * The tokens to use, by parameter name: from the URL (then kept, and dropped from the address) or, when the URL
 * has none, the kept one whose URL is the one given now (a kept token is never sent to another server). An
 * empty `?sync_token=` forgets the kept one. Without storage the token stays in the address (sync still works).
 */
export function keptTokens(params: URLSearchParams, storage: Storage | undefined = globalThis.localStorage): Record<string, string> {
  const out: Record<string, string> = {};
  let moved = false;
  for (const [param, urlParam] of KEPT) {
    const url = params.get(urlParam);
    const given = params.get(param);
    if (given !== null) {
      if (given) out[param] = given;
      try {
        if (given && url) storage!.setItem(key(param), JSON.stringify({ url, token: given }));
        else storage!.removeItem(key(param));
        params.delete(param);
        moved = true;
      } catch {
        /* no storage here: it stays in the address */
      }
    } else if (url) {
      try {
        const kept = JSON.parse(storage?.getItem(key(param)) ?? 'null') as { url?: unknown; token?: unknown } | null;
        if (kept && kept.url === url && typeof kept.token === 'string' && kept.token) out[param] = kept.token;
      } catch {
        /* unreadable: none kept */
      }
    }
  }
  if (moved) {
    const query = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }
  return out;
}
