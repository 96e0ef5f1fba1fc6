import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * A static server over a build folder, as a host would run one (the isolation headers, no caching), that a test
 * can stop (the network gone: connections refused), start again on the same port, and point at another build.
 */
export async function serveBuild(root: string) {
  const requests: string[] = [];
  let port = 0;
  let server: Server | undefined;
  const start = () =>
    new Promise<void>((ok) => {
      server = createServer((req, res) => {
        const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
        requests.push(path);
        const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
        let size = -1;
        try {
          if (file.startsWith(normalize(root))) size = statSync(file).isFile() ? statSync(file).size : -1;
        } catch {
          /* missing */
        }
        const headers = {
          'Cross-Origin-Opener-Policy': 'same-origin',
          'Cross-Origin-Embedder-Policy': 'require-corp',
          'Cross-Origin-Resource-Policy': 'same-origin',
          'Cache-Control': 'no-cache',
        };
        if (size < 0) return void res.writeHead(404, headers).end('not found');
        res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': String(size) });
        createReadStream(file).pipe(res);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        ok();
      });
    });
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    requests,
    /** serves another build from now on */
    setRoot(dir: string) {
      root = dir;
    },
    start,
    /** the network gone: new connections are refused, open ones cut */
    stop: () =>
      new Promise<void>((ok) => {
        if (!server) return ok();
        server.close(() => ok());
        server.closeAllConnections();
        server = undefined;
      }),
  };
}
