import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Alerts } from '../../config/schema.ts';
import { type Alert, jsonPayload, slackPayload } from './alert.ts';

const TRIES = 3;
const TIMEOUT_MS = 5_000;
/** How long a stopping gateway waits for messages still on their way. */
const DRAIN_MS = 5_000;

/**
 * Posts alerts to the configured webhooks. Each webhook has its own queue, so a resolve
 * never overtakes its firing message and a slow receiver does not hold up the others.
 */
export class WebhookSender {
  private readonly hooks: { url: string; format: 'json' | 'slack'; queue: Promise<void> }[];
  private readonly gateway: string;
  private readonly events: Logger;
  /** undici is loaded with the first message: most gateways send none, and all of undici is ~20 MB resident. */
  private client: Promise<{ agent: Agent; request: typeof import('undici').request }> | null = null;

  constructor(webhooks: Alerts['webhooks'], gateway: string, events: Logger) {
    this.hooks = webhooks.map((w) => ({ ...w, queue: Promise.resolve() }));
    this.gateway = gateway;
    this.events = events;
  }

  send(a: Alert): void {
    for (const h of this.hooks) {
      const body = JSON.stringify(h.format === 'slack' ? slackPayload(this.gateway, a) : jsonPayload(this.gateway, a));
      h.queue = h.queue.then(() => this.post(h.url, body, a));
    }
  }

  async close(): Promise<void> {
    const drained = Promise.all(this.hooks.map((h) => h.queue));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
    if (this.client) await (await this.client).agent.destroy();
  }

  private async post(url: string, body: string, a: Alert): Promise<void> {
    this.client ??= import('undici').then(({ Agent, request }) => ({ agent: new Agent({ connections: 2 }), request }));
    const { agent, request } = await this.client;
    for (let n = 1; n <= TRIES; n++) {
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'user-agent': 'gatewise-alerts' },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await res.body.dump();
        if (res.statusCode < 300) return;
        if (res.statusCode < 500 && res.statusCode !== 429) {
          this.events.warn({ webhook: redact(url), status: res.statusCode, alert: a.key }, `alert webhook refused the message (${res.statusCode})`);
          return;
        }
        throw new Error(`answered ${res.statusCode}`);
      } catch (err) {
        if (n === TRIES) {
          this.events.warn({ webhook: redact(url), alert: a.key, err: (err as Error).message }, `alert not delivered after ${TRIES} tries`);
          return;
        }
        await new Promise((r) => setTimeout(r, 250 * 2 ** n));
      }
    }
  }
}

/** Webhook URLs carry their secret in the path (Slack's do): log the host only. */
function redact(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…`;
}
