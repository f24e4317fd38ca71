// Reading a scenario file, with every problem reported as file:line:column as the gateway
// config loader does, so a typo in a scenario points at its line.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { parseScenarioObject, type Scenario } from './schema.ts';

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`${file}: cannot read the scenario: ${(err as Error).message}`);
  }
  return parseScenarioText(text, file);
}

export function parseScenarioText(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors
        .map((e) => {
          const p = at(e.pos[0]);
          return `${file}:${p.line}:${p.col}: YAML: ${e.message}`;
        })
        .join('\n'),
    );
  }
  const parsed = parseScenarioObject(doc.toJS() ?? {}, basename(file, extname(file)), file);
  if (parsed.ok) return parsed.scenario;
  const lines = parsed.issues.map((issue) => {
    // A missing key has no node: point at the deepest part of its path that exists.
    for (let n = issue.path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const p = at(node.range[0]);
        return `${file}:${p.line}:${p.col}: ${dotted(issue.path)}${issue.message}`;
      }
    }
    return `${file}: ${dotted(issue.path)}${issue.message}`;
  });
  throw new ScenarioError(lines.join('\n'));
}

function dotted(path: (string | number)[]): string {
  if (path.length === 0) return '';
  return `${path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')}: `;
}
