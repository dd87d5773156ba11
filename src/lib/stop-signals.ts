/**
 * The signals that stop tokenmill gracefully (docs/contract.md "Operations"): the ones
 * close-with-grace (src/main.ts) answers with the graceful stop, less the fatal ones it also traps.
 * A cluster primary passes each of them on to its workers, so a node stops the same way whichever
 * of them it gets and however many processes it runs. There is no reload signal: the configuration
 * is read once, at start.
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const satisfies readonly NodeJS.Signals[];

/** Calls `handler` on each stop signal; returns what removes it again. */
export function onStopSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
  };
}
