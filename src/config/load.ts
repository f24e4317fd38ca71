/**
 * Reading a configuration file: YAML → schema → files on disk, with every problem reported
 * as file:line:column, the way a compiler does, so an operator can jump straight to it.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { certificateNames } from '../server/sni.ts';
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ConfigError, type ConfigIssue } from './issues.ts';
import { type Config, type ConfigInput, configWarnings, displayPath, parseConfigObject, type SchemaIssue } from './schema.ts';

export { ConfigError, type ConfigIssue, formatConfigIssues } from './issues.ts';

export type LoadedConfig = { config: Config; warnings: ConfigIssue[] };

/** Where `gatewise serve` and `gatewise check` look when no --config is given. */
export const DEFAULT_CONFIG_FILE = 'gatewise.yaml';

export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError([
      { file, line: 0, column: 0, path: '', message: `cannot read the configuration: ${message}`, hint: 'pass --config FILE' },
    ]);
  }
  return parseConfigText(text, file);
}

/** Same as loadConfig, from text; relative paths in it resolve against dirname(file). */
export function parseConfigText(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *defaults`) are YAML 1.1, but they are how people share settings
  // between upstreams, and refusing them would push operators to copy and paste.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => syntaxIssue(e, file, at)));

  const locate = (issue: SchemaIssue): ConfigIssue => locateIssue(doc, at, file, issue);
  const input: unknown = doc.contents === null ? {} : doc.toJS();
  const parsed = parseConfigObject(input);
  if (!parsed.ok) throw new ConfigError(sortIssues(parsed.issues.map(locate)));
  const fileIssues = resolveFiles(parsed.config, dirname(file));
  if (fileIssues.length > 0) throw new ConfigError(sortIssues(fileIssues.map(locate)));

  const warnings = [...doc.warnings.map((w) => syntaxIssue(w, file, at)), ...configWarnings(parsed.config).map(locate)];
  return { config: parsed.config, warnings: sortIssues(warnings) };
}

/**
 * A Config from a YAML-shaped object, for tests and embedders that have no file. Relative
 * paths resolve against baseDir; problems throw a ConfigError naming `source`.
 */
export function defaultConfig(input: ConfigInput, opts: { baseDir?: string; source?: string } = {}): Config {
  const source = opts.source ?? '(object)';
  const noPlace = (i: SchemaIssue): ConfigIssue => ({
    file: source,
    line: 0,
    column: 0,
    path: displayPath(i.path),
    message: i.message,
    ...(i.hint ? { hint: i.hint } : {}),
  });
  const parsed = parseConfigObject(input);
  if (!parsed.ok) throw new ConfigError(parsed.issues.map(noPlace));
  const fileIssues = resolveFiles(parsed.config, opts.baseDir ?? process.cwd());
  if (fileIssues.length > 0) throw new ConfigError(fileIssues.map(noPlace));
  return parsed.config;
}

// ---------------------------------------------------------------- files

/**
 * Paths in the file are relative to the file, not to the directory gatewise was started
 * from, so the same config works under systemd, in a container and from a shell.
 */
function resolveFiles(config: Config, baseDir: string): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const mustBeFile = (given: string, path: SchemaIssue['path'], what: string): string => {
    const full = resolve(baseDir, given);
    const problem = fileProblem(full);
    if (problem) issues.push({ path, message: `${what} "${given}" ${problem} (looked for ${full})` });
    return full;
  };
  for (const [code, page] of Object.entries(config.errorPages.pages)) {
    config.errorPages.pages[code] = mustBeFile(page, ['error_pages', 'pages', code], 'error page');
  }
  for (const u of Object.values(config.upstreams)) {
    if (u.tls.ca === null) continue;
    const path = ['upstreams', u.name, 'tls', 'ca'];
    const before = issues.length;
    const full = mustBeFile(u.tls.ca, path, 'CA file');
    if (issues.length === before && !isPem(full)) {
      issues.push({ path, message: `CA file "${u.tls.ca}" holds no PEM certificate`, hint: 'it should contain -----BEGIN CERTIFICATE-----' });
    }
    u.tls.ca = full;
  }
  config.listen.forEach((l, i) => {
    if (l.tls === null) return;
    const before = issues.length;
    const cert = mustBeFile(l.tls.cert, ['listen', i, 'tls', 'cert'], 'certificate file');
    const key = mustBeFile(l.tls.key, ['listen', i, 'tls', 'key'], 'key file');
    const sni = l.tls.sni.map((pair, j) => ({
      cert: mustBeFile(pair.cert, ['listen', i, 'tls', 'sni', j, 'cert'], 'certificate file'),
      key: mustBeFile(pair.key, ['listen', i, 'tls', 'sni', j, 'key'], 'key file'),
    }));
    l.tls = { ...l.tls, cert, key, sni };
    if (issues.length > before) return;
    const problem = keyPairProblem(cert, key);
    if (problem) issues.push({ path: ['listen', i, 'tls'], message: problem.message, hint: problem.hint });
    const owner = new Map<string, number>();
    sni.forEach((pair, j) => {
      const at = ['listen', i, 'tls', 'sni', j];
      const bad = keyPairProblem(pair.cert, pair.key);
      if (bad) {
        issues.push({ path: at, message: bad.message, hint: bad.hint });
        return;
      }
      const names = certificateNames(readFileSync(pair.cert));
      if (names.length === 0) issues.push({ path: at, message: `${pair.cert} names no host (no DNS subjectAltName, no CN)`, hint: 'an SNI certificate is chosen by the names it carries' });
      for (const name of names) {
        const first = owner.get(name);
        if (first !== undefined) issues.push({ path: at, message: `${name} is also in sni[${first}]'s certificate: which one answers would depend on order`, hint: 'give each name one certificate' });
        else owner.set(name, j);
      }
    });
  });
  const access = config.log.access;
  if (typeof access === 'object') {
    const full = resolve(baseDir, access.file);
    if (fileProblem(dirname(full), 'directory')) {
      issues.push({ path: ['log', 'access'], message: `directory ${dirname(full)} does not exist`, hint: 'create it, or write stdout, stderr or off' });
    }
    config.log.access = { file: full };
  }
  return issues;
}

/** Whether OpenSSL takes the files as a certificate (chain) and its private key; null if so. */
function keyPairProblem(cert: string, key: string): { message: string; hint: string } | null {
  try {
    process.getBuiltinModule('node:tls').createSecureContext({ cert: readFileSync(cert), key: readFileSync(key) });
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const mismatch = e.code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' || /key values mismatch/i.test(e.message);
    return mismatch
      ? { message: `the key in ${key} does not belong to the certificate in ${cert}`, hint: 'pair each certificate with the key it was issued for' }
      : { message: `OpenSSL cannot use ${cert} and ${key}: ${e.message}`, hint: 'both must be PEM: the certificate (then its chain) and an unencrypted private key' };
  }
}

function isPem(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').includes('-----BEGIN CERTIFICATE-----');
  } catch {
    return false;
  }
}

function fileProblem(path: string, kind: 'file' | 'directory' = 'file'): string | null {
  try {
    const st = statSync(path);
    if (kind === 'file' && !st.isFile()) return 'is not a file';
    if (kind === 'directory' && !st.isDirectory()) return 'is not a directory';
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`;
  }
}

// ---------------------------------------------------------------- positions

type LinePos = (offset: number) => { line: number; col: number };

const SYNTAX_HINTS: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'YAML indents with spaces, not tabs',
  MULTIPLE_DOCS: 'a configuration file holds one document: remove the ---',
  DUPLICATE_KEY: 'the later value would silently win: remove one of them',
  BAD_INDENT: 'check the indentation of this line against the one above',
};

function syntaxIssue(e: YAMLError, file: string, at: LinePos): ConfigIssue {
  const pos = at(e.pos[0]);
  const hint = SYNTAX_HINTS[e.code];
  return { file, line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message}`, ...(hint ? { hint } : {}) };
}

type Located = { range?: [number, number, number] | null | undefined };

/**
 * Walks the document along the issue's path. A key that is missing is reported at the map
 * that should hold it; a path that goes deeper than the YAML (an endpoint written as a
 * string, checked as `{ url }`) is reported at, and named after, the deepest node that exists.
 */
function locateIssue(doc: Document, at: LinePos, file: string, issue: SchemaIssue): ConfigIssue {
  let node: unknown = doc.contents;
  let keyNode: unknown = null;
  let depth = 0;
  for (const seg of issue.path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      keyNode = null;
      node = node.items[seg];
    } else {
      break;
    }
    depth++;
  }
  const found = depth === issue.path.length;
  const valueRange = (node as Located | null)?.range;
  const keyRange = (keyNode as Located | null)?.range;
  const emptyValue = isScalar(node) && node.value === null && keyRange;
  const range = (found && issue.at === 'key') || emptyValue ? (keyRange ?? valueRange) : (valueRange ?? keyRange);
  const pos = range ? at(range[0]) : { line: 1, col: 1 };
  const shown = found || isMap(node) ? issue.path : issue.path.slice(0, depth);
  return {
    file,
    line: pos.line,
    column: pos.col,
    path: displayPath(shown),
    message: issue.message,
    ...(issue.hint ? { hint: issue.hint } : {}),
  };
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.toSorted((a, b) => a.line - b.line || a.column - b.column);
}
