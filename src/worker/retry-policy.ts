/**
 * Delay before retry number `attempt` (1 = first retry): exponential with "equal jitter", so
 * runs that failed together (a service went down) do not all come back at the same instant.
 * A service's own Retry-After wins when it asks for longer.
 */
export function retryDelayMs(
  attempt: number,
  policy: { baseMs: number; maxMs: number },
  serviceAskedMs?: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.round(Math.max(jittered, serviceAskedMs ?? 0));
}
