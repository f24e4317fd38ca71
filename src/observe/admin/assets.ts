import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type Asset = { readonly type: string; readonly path: string };

const here = (name: string) => fileURLToPath(new URL(`../dashboard/${name}`, import.meta.url));
const fromPackage = (spec: string) => createRequire(import.meta.url).resolve(spec);

/** Everything the dashboard loads, served by the admin listener itself: the page works with no network beyond it. */
const ASSETS: Record<string, () => Asset> = {
  '/': () => ({ type: 'text/html; charset=utf-8', path: here('index.html') }),
  '/assets/dashboard.js': () => ({ type: 'text/javascript; charset=utf-8', path: here('dashboard.js') }),
  '/assets/dashboard.css': () => ({ type: 'text/css; charset=utf-8', path: here('dashboard.css') }),
  '/assets/uPlot.iife.min.js': () => ({ type: 'text/javascript; charset=utf-8', path: fromPackage('uplot/dist/uPlot.iife.min.js') }),
  '/assets/uPlot.min.css': () => ({ type: 'text/css; charset=utf-8', path: fromPackage('uplot/dist/uPlot.min.css') }),
};

const cache = new Map<string, Promise<{ type: string; body: Buffer }>>();

export function isAsset(path: string): boolean {
  return Object.hasOwn(ASSETS, path);
}

/** Read once, then from memory. */
export function asset(path: string): Promise<{ type: string; body: Buffer }> {
  let hit = cache.get(path);
  if (!hit) {
    const a = ASSETS[path]!();
    hit = readFile(a.path).then((body) => ({ type: a.type, body }));
    hit.catch(() => cache.delete(path));
    cache.set(path, hit);
  }
  return hit;
}
