import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const PAGE_DIR = join(import.meta.dirname, 'page');

/** What the page is made of: the app and its two AudioWorklet modules (each loaded by URL). */
export const PAGE_ENTRIES = {
  'app.js': 'main.ts',
  'capture-worklet.js': 'capture-worklet.ts',
  'playout-worklet.js': 'playout-worklet.ts',
} as const;

export const STATIC_FILES = { 'index.html': 'text/html; charset=utf-8', 'page.css': 'text/css; charset=utf-8' } as const;

export interface PageAsset {
  body: Uint8Array;
  type: string;
}

export class PageBuildError extends Error {
  override name = 'PageBuildError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Bundles the page with esbuild once, in memory, when the service starts: the page imports
 * the wire contract (@voicebus/protocol) and the nats.js client like any other module, and
 * the browser gets one file per entry. No build step, nothing written to disk.
 */
export async function buildPage(): Promise<Map<string, PageAsset>> {
  const assets = new Map<string, PageAsset>();
  try {
    const result = await build({
      entryPoints: Object.fromEntries(Object.entries(PAGE_ENTRIES).map(([out, src]) => [out.replace(/\.js$/, ''), join(PAGE_DIR, src)])),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      outdir: '/page',
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    for (const file of result.outputFiles) assets.set(file.path.slice('/page/'.length), { body: file.contents, type: 'text/javascript; charset=utf-8' });
  } catch (cause) {
    throw new PageBuildError(`could not bundle the page: ${(cause as Error).message}`, { cause });
  }
  for (const [name, type] of Object.entries(STATIC_FILES)) assets.set(name, { body: await readFile(join(PAGE_DIR, name)), type });
  return assets;
}
