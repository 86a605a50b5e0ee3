/** The docker and compose commands the compose run's checks use, with what they print. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Container {
  id: string;
  name: string;
  service: string;
  /** running, exited, restarting, ... */
  state: string;
  health: string | undefined;
  restartCount: number;
  startedAt: number;
  /** The container's hostname (its short id): what services report as their host. */
  hostname: string;
}

export class Docker {
  readonly project: string;
  /** The compose command with its project, files and env file, e.g. ["docker-compose", "-p", ...]. */
  readonly compose: string[];
  constructor(project: string, compose: string[]) {
    this.project = project;
    this.compose = compose;
  }

  async docker(...args: string[]): Promise<string> {
    const { stdout } = await run('docker', args, { maxBuffer: 64 << 20 });
    return stdout;
  }

  async composeRun(...args: string[]): Promise<string> {
    const [cmd, ...base] = this.compose;
    const { stdout, stderr } = await run(cmd!, [...base, ...args], { maxBuffer: 64 << 20 });
    return stdout + stderr;
  }

  /** Every container of the project, running or not. */
  async containers(): Promise<Container[]> {
    const ids = (await this.docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${this.project}`)).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const docs = JSON.parse(await this.docker('inspect', ...ids)) as {
      Id: string;
      Name: string;
      RestartCount: number;
      State: { Status: string; StartedAt: string; Health?: { Status: string } };
      Config: { Hostname: string; Labels: Record<string, string> };
    }[];
    return docs.map((d) => ({
      id: d.Id.slice(0, 12),
      name: d.Name.replace(/^\//, ''),
      service: d.Config.Labels['com.docker.compose.service'] ?? '',
      state: d.State.Status,
      health: d.State.Health?.Status,
      restartCount: d.RestartCount,
      startedAt: Date.parse(d.State.StartedAt),
      hostname: d.Config.Hostname,
    }));
  }

  async of(service: string): Promise<Container[]> {
    return (await this.containers()).filter((c) => c.service === service);
  }

  /** Waits until every container that has a health check reports healthy. */
  async waitHealthy(timeoutMs: number, expect?: (cs: Container[]) => boolean): Promise<Container[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const cs = await this.containers();
      const ok = cs.length > 0 && cs.every((c) => c.state === 'running' && (c.health === undefined || c.health === 'healthy'));
      if (ok && (!expect || expect(cs))) return cs;
      if (Date.now() > until) {
        const bad = cs.filter((c) => c.state !== 'running' || (c.health !== undefined && c.health !== 'healthy'));
        throw new Error(`not healthy within ${timeoutMs} ms: ${bad.map((c) => `${c.name} ${c.state}/${c.health}`).join(', ') || 'expected containers missing'}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** The host pid of a container's service process: the child of its init (compose's init: true). */
  async servicePid(container: string): Promise<number> {
    const initPid = (await this.docker('inspect', '-f', '{{.State.Pid}}', container)).trim();
    const { stdout } = await run('pgrep', ['-P', initPid]);
    const pid = Number(stdout.trim().split('\n')[0]);
    if (!pid) throw new Error(`no process under ${container}'s init (pid ${initPid})`);
    return pid;
  }

  /** Runs a node module inside a container (stdin), in a directory where the NATS client resolves. */
  async nodeIn(container: string, workdir: string, source: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('docker', ['exec', '-i', '-w', workdir, container, 'node', '--input-type=module', '-'], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
      child.stdin!.end(source);
    });
  }
}
