#!/usr/bin/env node
// gatewise: argv → the command that handles it. Commands load lazily so that `gatewise check`
// does not pay for the proxy, nor the proxy for the doctor.

const USAGE = `gatewise — a reverse-proxy gateway that explains every 502

usage:
  gatewise serve --config gatewise.yaml         run the gateway
  gatewise serve --listen 127.0.0.1:8080 --upstream http://127.0.0.1:3000
  gatewise demo                                 the gateway in front of a demo origin (npm start)
  gatewise check --config gatewise.yaml         validate a configuration, like nginx -t
  gatewise lab origin --fault KIND [--port N]   an origin that fails in one way (see --help)
  gatewise lab dns --record name=ip             a DNS server on loopback for the lab
  gatewise lab run SCENARIO [--json]            a whole failure scenario under load
  gatewise doctor URL                           find which hop broke and why
  gatewise doctor logs FILE...                  explain the 502s in nginx/Apache/PHP-FPM/HAProxy logs
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./cli/serve.ts')).serveCommand,
  demo: async () => (await import('./cli/demo.ts')).demoCommand,
  check: async () => (await import('./cli/check.ts')).checkCommand,
  lab: async () => (await import('./cli/lab.ts')).labCommand,
  doctor: async () => (await import('./cli/doctor.ts')).doctorCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`gatewise: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gatewise: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
