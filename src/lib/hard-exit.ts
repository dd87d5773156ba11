import { Worker } from 'node:worker_threads';

// Runs on its own thread, so it fires even when the main thread is stuck in synchronous code.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setTimeout(() => process.kill(workerData.pid, 'SIGKILL'), workerData.ms);
`;

/**
 * Arms a watchdog that kills this process (SIGKILL) `ms` from now, whatever the main thread is
 * doing. A timer on the main thread cannot do that: it never fires while the event loop is
 * blocked, and a synchronous write to a broken pipe can block it forever. It is the last resort
 * behind the graceful deadline, which exits 1 on its own when the event loop is free. The watchdog
 * does not keep the process alive.
 */
export function armHardExit(ms: number): void {
  // execArgv []: the snippet is CommonJS even if this process runs with flags such as --input-type=module.
  const worker = new Worker(WATCHDOG, { eval: true, execArgv: [], workerData: { pid: process.pid, ms }, stdout: true, stderr: true });
  worker.on('error', () => {});
  worker.unref();
}
