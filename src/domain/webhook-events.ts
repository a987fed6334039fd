/** The events a webhook endpoint can subscribe to. */
export const WEBHOOK_EVENTS = [
  'run.started',
  'run.progress',
  'run.completed',
  'run.failed',
  'run.canceled',
  'batch.completed',
  'blueprint.generation.completed',
  'blueprint.completed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
