const HELP = `usage: gatewise lab origin --fault KIND [--port N] [options]   (gatewise lab origin --help)
       gatewise lab dns --record name=ip[,ip] [--port N]
       gatewise lab run SCENARIO [--json]
`;

export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'origin') return (await import('./lab-origin.ts')).labOriginCommand(rest);
  if (sub === 'dns') return (await import('./lab-origin.ts')).labDnsCommand(rest);
  if (sub === 'run') return (await import('./lab-run.ts')).labRunCommand(rest);
  process.stderr.write(HELP);
  return sub === undefined || sub === '--help' ? 0 : 2;
}
