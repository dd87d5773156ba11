import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Context, type Io } from '../context.js';
import { CliError } from '../errors.js';
import { withServerFlags } from '../../lib/node-flags.js';
import { integer } from '../parse.js';

/** dist/src/server.cjs, next to this file's dist/src/cli/commands/. */
const SERVER_ENTRY = fileURLToPath(new URL('../../server.cjs', import.meta.url));
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface ServeOptions {
  port?: number;
  adminPort?: number;
  host?: string;
  adminHost?: string;
  dataDir?: string;
}

/**
 * Runs the server. src/server.ts starts itself on import (top-level `await main()`), so it runs as a
 * child process (this Node binary, stdio inherited) in its own process group: a terminal's Ctrl-C
 * reaches only this process, which forwards each signal once (close-with-grace treats a second
 * signal as "exit now"), and exits with the server's exit code.
 */
export function serveCommand(program: Command, io: Io): void {
  program
    .command('serve')
    .description('run the tokenmill server (configured by its environment: PORT, ADMIN_PORT, ISSUER, DATABASE_URL…)')
    .option('--port <port>', 'public listener port (PORT)', integer)
    .option('--admin-port <port>', 'admin listener port (ADMIN_PORT)', integer)
    .option('--host <address>', 'bind address (HOST)')
    .option('--admin-host <address>', 'bind address of the admin listener (ADMIN_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'embedded database and generated keys (DATA_DIR)')
    .action(async (opts: ServeOptions, cmd: Command) => {
      const ctx = Context.of(cmd, io);
      if (!existsSync(SERVER_ENTRY)) throw new CliError(`${SERVER_ENTRY} is missing: run \`npm run build\``);
      const env: Record<string, string | undefined> = { ...io.env };
      if (opts.port !== undefined) env.PORT = String(opts.port);
      if (opts.adminPort !== undefined) env.ADMIN_PORT = String(opts.adminPort);
      if (opts.host !== undefined) env.HOST = opts.host;
      if (opts.adminHost !== undefined) env.ADMIN_HOST = opts.adminHost;
      if (opts.dataDir !== undefined) env.DATA_DIR = opts.dataDir;
      if (ctx.issuerFlag !== undefined) env.ISSUER = ctx.issuerFlag;
      if (ctx.adminTokenFlag !== undefined) env.ADMIN_TOKEN = ctx.adminTokenFlag;

      const child = spawn(process.execPath, [...withServerFlags([]), SERVER_ENTRY], { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
      const forward = (signal: NodeJS.Signals) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      };
      for (const s of FORWARDED) process.on(s, forward);
      // If this process dies of an error, do not leave the server behind.
      const reap = () => forward('SIGTERM');
      process.on('exit', reap);
      try {
        const code = await new Promise<number>((resolve, reject) => {
          child.once('error', (err) => reject(new CliError(`cannot start the server: ${err.message}`)));
          child.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
        });
        process.exitCode = code;
      } finally {
        for (const s of FORWARDED) process.off(s, forward);
        process.off('exit', reap);
      }
    });
}
