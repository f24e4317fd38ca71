// Proxy-Status (RFC 9209) is an RFC 8941 structured-field list. We write it by hand
// rather than pulling in a structured-fields library: the gateway only ever emits
// one member with a handful of parameters, and reading needs to be tolerant of what
// other proxies send, which strict parsers are not.

import type { ProxyErrorType } from './types.ts';

export type ProxyStatusMemberInit = {
  /** Who is reporting: this gateway's name. */
  name: string;
  error?: ProxyErrorType;
  /** Stable snake_case sub-reason (ProxyError.detail). */
  details?: string;
  /**
   * The next hop as the gateway knew it. It leaves the building in a response header,
   * so callers pass a pool name here unless the operator allowed internals.
   */
  nextHop?: string;
  receivedStatus?: number;
  /** Extra parameters (rcode, info-code, alert-id, …); keys that are not sf-keys are dropped. */
  params?: Record<string, string | number>;
};

export type ProxyStatusParams = Record<string, string | number | boolean>;
export type ProxyStatusMember = { name: string; params: ProxyStatusParams };

const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/;
const KEY = /^[a-z*][a-z0-9_\-.*]*$/;
const MAX_INTEGER = 999_999_999_999_999;

/** An sf-string; characters outside printable ASCII cannot be carried, so they go. */
export function sfString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length !== 1 || c < 0x20 || c > 0x7e) continue;
    out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return `${out}"`;
}

function sfNumber(n: number): string | null {
  if (!Number.isFinite(n)) return null;
  if (Number.isInteger(n)) return Math.abs(n) <= MAX_INTEGER ? String(n) : null;
  // sf-decimal: at most 12 integer digits and 3 fractional ones.
  const rounded = Math.round(n * 1000) / 1000;
  if (Math.abs(rounded) >= 1e12) return null;
  const s = String(rounded);
  return s.includes('.') ? s : `${s}.0`;
}

function sfParam(key: string, value: string | number): string {
  if (!KEY.test(key)) return '';
  if (typeof value === 'number') {
    const n = sfNumber(value);
    return n === null ? '' : `; ${key}=${n}`;
  }
  return `; ${key}=${sfString(value)}`;
}

/** A cache or proxy name as a Structured Field list member (RFC 9209 §2, RFC 9211 §2): a token, or a quoted string. */
export function sfName(name: string): string {
  return TOKEN.test(name) ? name : sfString(name);
}

export function formatProxyStatusMember(m: ProxyStatusMemberInit): string {
  let out = sfName(m.name);
  if (m.error !== undefined) out += `; error=${m.error}`;
  if (m.details !== undefined) out += sfParam('details', m.details);
  if (m.nextHop !== undefined) out += sfParam('next-hop', m.nextHop);
  if (m.receivedStatus !== undefined) out += sfParam('received-status', Math.trunc(m.receivedStatus));
  const taken = new Set(['error', 'details', 'next-hop', 'received-status']);
  for (const [key, value] of Object.entries(m.params ?? {})) {
    // A parameter may appear once; the named fields above win over a stray duplicate.
    if (taken.has(key)) continue;
    taken.add(key);
    out += sfParam(key, value);
  }
  return out;
}

/**
 * Adds our member after whatever the origin (or an inner proxy) already reported:
 * RFC 9209 §2 orders members from the origin outwards, so the last one is the closest
 * to the client.
 */
export function appendProxyStatus(existing: string | string[] | undefined, member: string): string {
  const previous = (Array.isArray(existing) ? existing : existing === undefined ? [] : [existing])
    .map((v) => v.trim().replace(/^,+|,+$/g, '').trim())
    .filter((v) => v !== '');
  return [...previous, member].join(', ');
}

/**
 * Reads a Proxy-Status value leniently: a member that does not parse is skipped
 * instead of failing the whole field, because the doctor must still explain what the
 * other hops said when one of them writes a malformed member.
 */
export function parseProxyStatus(value: string): ProxyStatusMember[] {
  const p = new Parser(value);
  const members: ProxyStatusMember[] = [];
  while (true) {
    p.skipSpace();
    if (p.done()) break;
    const member = p.member();
    if (member !== null) members.push(member);
    p.skipToNextMember();
    if (!p.eat(',')) break;
  }
  return members;
}

class Parser {
  private readonly s: string;
  private i = 0;

  constructor(s: string) {
    this.s = s;
  }

  done(): boolean {
    return this.i >= this.s.length;
  }

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.i++;
    return true;
  }

  skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }

  /** Moves to the next top-level comma, stepping over strings that may contain one. */
  skipToNextMember(): void {
    while (!this.done() && this.peek() !== ',') {
      if (this.peek() === '"') this.string();
      else this.i++;
    }
  }

  member(): ProxyStatusMember | null {
    const name = this.bareItem();
    if (typeof name !== 'string') return null;
    const params: ProxyStatusParams = {};
    while (true) {
      this.skipSpace();
      if (!this.eat(';')) break;
      this.skipSpace();
      const key = this.key();
      if (key === '') return null;
      let val: string | number | boolean = true;
      if (this.eat('=')) {
        const v = this.bareItem();
        if (v === null) return null;
        val = v;
      }
      params[key] = val;
    }
    this.skipSpace();
    if (!this.done() && this.peek() !== ',') return null;
    return { name, params };
  }

  private key(): string {
    const m = /^[A-Za-z*][A-Za-z0-9_\-.*]*/.exec(this.s.slice(this.i));
    if (m === null) return '';
    this.i += m[0].length;
    return m[0].toLowerCase();
  }

  private bareItem(): string | number | boolean | null {
    const c = this.peek();
    if (c === '"') return this.string();
    if (c === '?') {
      const b = this.s[this.i + 1];
      if (b !== '0' && b !== '1') return null;
      this.i += 2;
      return b === '1';
    }
    if (c === ':') {
      // A byte sequence is kept as its base64 text; nothing in Proxy-Status uses one.
      const end = this.s.indexOf(':', this.i + 1);
      if (end < 0) return null;
      const text = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return text;
    }
    const rest = this.s.slice(this.i);
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num !== null) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    const tok = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(rest);
    if (tok === null) return null;
    this.i += tok[0].length;
    return tok[0];
  }

  /** An sf-string; an unterminated one runs to the end of the value. */
  private string(): string {
    this.i++;
    let out = '';
    while (!this.done()) {
      const c = this.s[this.i++]!;
      if (c === '"') return out;
      if (c === '\\' && !this.done()) out += this.s[this.i++]!;
      else out += c;
    }
    return out;
  }
}
