/**
 * Browser and terminal tests' shared parts: Debian's Chromium driven by playwright-core (never
 * a downloaded browser), where test output goes, and the issue's test containers (cs11-*).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type BrowserContext } from 'playwright-core';
import { docker } from '../support.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots and captures: test-output/<name>/ under the working directory. */
export function outputDir(name: string): string {
  const dir = `test-output/${name}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The flags every run takes: headless, and nothing that talks to other hosts in the background. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Debian Chromium with a fresh profile (playwright's persistent context owns --user-data-dir). */
export async function launchChromium(viewport = { width: 1280, height: 720 }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/testbed.sh)`);
  const profile = mkdtempSync(`${tmpdir()}/cs11-chromium-`);
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Removes this test containers (names cs11-*) and only those: other tests share the daemon. */
export function removeCs11Containers(): void {
  const ids = docker('ps', '-aq', '--filter', 'label=cstats.test=1', '--filter', 'name=^cs11-');
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

/**
 * `cstats top` sessions in real tmux (Debian), on a tmux server of the test's own (`-L`) that an
 * idle session keeps alive: when the last session of a server quits, the server exits, and a
 * new-session started in that moment fails with "server exited unexpectedly" (seen in CI).
 */
export class TopTerminal {
  private readonly socket = `cstats-test-${process.pid}`;

  constructor(private readonly url: string) {
    this.tmux('new-session', '-d', '-s', 'keeper', 'sleep 100000');
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** A new session of the given size running `cstats top` against the agent; env is prefixed to the command. */
  start(session: string, width: number, height: number, env = ''): string {
    this.tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), `${env} ${process.execPath} bin/cstats.js top --url ${this.url}`);
    return session;
  }

  /** The visible screen; with escapes, its SGR attributes too. */
  screen(session: string, escapes = false): string {
    return this.tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', session);
  }

  keys(session: string, ...keys: string[]): void {
    this.tmux('send-keys', '-t', session, ...keys);
  }

  alive(session: string): boolean {
    return spawnSync('tmux', ['-L', this.socket, 'has-session', '-t', session]).status === 0;
  }

  /** Ends the server and removes its socket, which tmux 3.3 leaves behind in /tmp/tmux-<uid>/. */
  close(): void {
    const socketPath = spawnSync('tmux', ['-L', this.socket, 'display-message', '-p', '-t', 'keeper', '#{socket_path}'], { encoding: 'utf8' }).stdout.trim();
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    if (socketPath !== '') rmSync(socketPath, { force: true });
  }
}
