import { apacheErrorParser } from './apache-error.ts';
import { caddyParser } from './caddy.ts';
import { gatewiseParser } from './gatewise.ts';
import { haproxyParser } from './haproxy.ts';
import { nginxAccessParser } from './nginx-access.ts';
import { nginxErrorParser } from './nginx-error.ts';
import type { LogParser } from './parser.ts';
import { phpFpmParser } from './php-fpm.ts';
import { traefikParser } from './traefik.ts';

// Order matters when sniffing a line of unknown format: the most specific shapes
// first (JSON with distinctive keys, HAProxy's millisecond dates) before nginx access.
export const PARSERS: readonly LogParser[] = [
  gatewiseParser,
  caddyParser,
  traefikParser,
  nginxErrorParser,
  apacheErrorParser,
  phpFpmParser,
  haproxyParser,
  nginxAccessParser,
];

export type { LogParser } from './parser.ts';
